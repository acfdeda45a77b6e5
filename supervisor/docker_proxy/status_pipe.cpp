#include "status_pipe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "portsafe/log.hpp"

namespace portsafe::docker_proxy {
namespace {

bool g_status_open = false;

bool descriptor_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // dockerd gone: nothing more to tell
    text.remove_prefix(static_cast<size_t>(n));
  }
}

void write_status(std::string_view text) {
  // A blocking write could hang on a full pipe nobody reads; the message is tiny anyway.
  const int flags = ::fcntl(kStatusFd, F_GETFL);
  if (flags >= 0) ::fcntl(kStatusFd, F_SETFL, flags | O_NONBLOCK);
  write_all(kStatusFd, text);
  ::close(kStatusFd);
  g_status_open = false;
}

}  // namespace

void adopt_inherited_descriptors() {
  g_status_open = descriptor_open(kStatusFd);
  for (int fd : {kStatusFd, kListenFd}) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  for (int fd = 0; fd <= 2; ++fd) {
    if (descriptor_open(fd)) continue;
    const int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd >= 0 && null_fd != fd) {
      ::dup2(null_fd, fd);
      ::close(null_fd);
    }
  }
}

bool status_pipe_open() noexcept { return g_status_open; }

void report_ready() {
  if (g_status_open) {
    write_status("0\n");
  } else {
    log_debug("ready (no status pipe on fd 3)");
  }
}

void report_failure(std::string_view message) {
  log_error("{}", message);
  if (g_status_open) write_status("1\n" + std::string(message));
}

void forget_status_pipe() {
  if (g_status_open) ::close(kStatusFd);
  g_status_open = false;
}

}  // namespace portsafe::docker_proxy
