#include "intercept/target_access.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace portsafe::intercept {
namespace {

// Linux 6.9: a pidfd for a thread that does not lead its process (Go binds from any thread).
constexpr unsigned kPidfdThread = O_EXCL;

// Older kernels refuse a pidfd for a non-leader thread: descriptors belong to the process, so its
// leader's pidfd serves as well.
pid_t thread_group_of(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", tid);
  UniqueFd status(::open(path, O_RDONLY | O_CLOEXEC));
  if (!status) return -1;
  char text[4096];
  const ssize_t n = ::read(status.get(), text, sizeof text - 1);
  if (n <= 0) return -1;
  text[n] = '\0';
  const char* line = std::strstr(text, "\nTgid:");
  return line == nullptr ? -1 : static_cast<pid_t>(std::strtol(line + 6, nullptr, 10));
}

// A thread that does not lead its process is refused a plain pidfd: EINVAL before Linux 6.9,
// ENOENT since (measured on 6.18).
bool refused_as_thread(long fd) noexcept { return fd < 0 && (errno == EINVAL || errno == ENOENT); }

UniqueFd open_pidfd(pid_t tid) {
  long fd = ::syscall(SYS_pidfd_open, tid, 0u);
  if (refused_as_thread(fd)) fd = ::syscall(SYS_pidfd_open, tid, kPidfdThread);
  if (refused_as_thread(fd)) {
    const pid_t leader = thread_group_of(tid);
    if (leader > 0) fd = ::syscall(SYS_pidfd_open, leader, 0u);
  }
  return UniqueFd(static_cast<int>(fd));
}

}  // namespace

bool notification_valid(int listener, uint64_t id) noexcept {
  return ::ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

std::optional<TargetAddress> read_bind_address(int listener, const seccomp_notif& request) {
  TargetAddress address;
  const uint64_t wanted = request.data.args[2] & 0xffffffffu;
  address.length = static_cast<socklen_t>(wanted < sizeof address.storage ? wanted : sizeof address.storage);
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%u/mem", request.pid);
  UniqueFd memory(::open(path, O_RDONLY | O_CLOEXEC));
  // The file must be the target's, not a process that took its pid after it died.
  if (!memory || !notification_valid(listener, request.id)) return std::nullopt;
  const ssize_t n = ::pread(memory.get(), &address.storage, address.length, static_cast<off_t>(request.data.args[1]));
  if (n != static_cast<ssize_t>(address.length)) return std::nullopt;
  // And what we read must still be what the waiting call passed.
  if (!notification_valid(listener, request.id)) return std::nullopt;
  return address;
}

pid_t process_of(pid_t tid) { return thread_group_of(tid); }

UniqueFd take_target_descriptor(int listener, const seccomp_notif& request) {
  UniqueFd pidfd = open_pidfd(static_cast<pid_t>(request.pid));
  if (!pidfd || !notification_valid(listener, request.id)) return UniqueFd();
  const int number = static_cast<int>(request.data.args[0]);
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), number, 0u)));
}

}  // namespace portsafe::intercept
