#include "instance.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "portsafe/runtime_root.hpp"

namespace portsafe::supervisor {
namespace {

constexpr int kSystemdFirstFd = 3;
// How long we wait for a supervisor that is exiting (idle) to let go of the lock.
constexpr auto kLockWait = std::chrono::seconds(3);

bool socket_answers(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

bool systemd_passed_socket() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (pid == nullptr || fds == nullptr) return false;
  return std::strtol(pid, nullptr, 10) == ::getpid() && std::strcmp(fds, "1") == 0;
}

LockOutcome take_instance_lock(const std::string& root, UniqueFd& lock_out, std::string& error) {
  const std::string path = supervisor_lock_path(root);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    error = fmt::format("cannot open lock file {}: {}; check the runtime directory with `portsafe doctor`", path,
                        std::strerror(errno));
    return LockOutcome::failed;
  }
  const auto deadline = std::chrono::steady_clock::now() + kLockWait;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      error = fmt::format("cannot lock {}: {}", path, std::strerror(errno));
      return LockOutcome::failed;
    }
    if (socket_answers(supervisor_socket_path(root)) || std::chrono::steady_clock::now() >= deadline) {
      return LockOutcome::another_serves;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  lock_out = std::move(fd);
  return LockOutcome::acquired;
}

void record_pid(int lock_fd) {
  const std::string text = fmt::format("{}\n", ::getpid());
  if (::ftruncate(lock_fd, 0) != 0) return;
  [[maybe_unused]] const ssize_t written = ::pwrite(lock_fd, text.data(), text.size(), 0);
}

void clear_pid(int lock_fd) { [[maybe_unused]] const int ignored = ::ftruncate(lock_fd, 0); }

bool open_listener(const std::string& socket_path, UniqueFd& out, bool& from_systemd, std::string& error) {
  from_systemd = systemd_passed_socket();
  if (from_systemd) {
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    UniqueFd fd(kSystemdFirstFd);
    int listening = 0;
    socklen_t length = sizeof listening;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || listening != 1) {
      fd.release();  // not ours to close: whatever it is
      error = "LISTEN_FDS=1 but fd 3 is not a listening socket; check the socket unit (ListenStream=)";
      return false;
    }
    ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
    out = std::move(fd);
    return true;
  }
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path) {
    error = fmt::format("socket path {} is too long for a Unix socket; use a shorter PORTSAFE_RUNTIME_DIR", socket_path);
    return false;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    error = fmt::format("cannot create the supervisor socket: {}", std::strerror(errno));
    return false;
  }
  // We hold the instance lock, so a socket file still there is a dead supervisor's.
  ::unlink(socket_path.c_str());
  const mode_t old_mask = ::umask(0077);
  const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0 || ::listen(fd.get(), SOMAXCONN) != 0) {
    error = fmt::format("cannot listen on {}: {}", socket_path, std::strerror(bound != 0 ? bind_errno : errno));
    return false;
  }
  out = std::move(fd);
  return true;
}

}  // namespace portsafe::supervisor
