#include "portsafe/process_identity.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portsafe {
namespace {

constexpr uint64_t kPidBits = 22;
constexpr uint64_t kPidMask = (uint64_t{1} << kPidBits) - 1;
constexpr uint64_t kStartMask = (uint64_t{1} << kIdentityStartBits) - 1;

// Formats "/proc/<pid>/stat" without the heap: this runs inside other people's programs.
void format_stat_path(pid_t pid, char (&path)[32]) noexcept {
  char digits[16];
  int n = 0;
  auto value = static_cast<uint32_t>(pid);
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0 && n < 15);
  char* out = path;
  for (const char c : {'/', 'p', 'r', 'o', 'c', '/'}) *out++ = c;
  while (n > 0) *out++ = digits[--n];
  for (const char c : {'/', 's', 't', 'a', 't'}) *out++ = c;
  *out = '\0';
}

// What /proc says of a pid: gone (no such process, or a zombie whose sockets are closed), there
// (with its identity), or unknown (/proc could not be read: out of descriptors, hidepid, ...).
enum class Presence { gone, present, unknown };

Presence probe_process(pid_t pid, ProcessIdentity& out) noexcept {
  if (pid <= 0) return Presence::gone;
  const int saved_errno = errno;
  char path[32];
  format_stat_path(pid, path);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    errno = saved_errno;
    return error == ENOENT || error == ESRCH ? Presence::gone : Presence::unknown;
  }
  char buf[1024];
  ssize_t len;
  do {
    len = ::read(fd, buf, sizeof buf - 1);
  } while (len < 0 && errno == EINTR);
  // A raw close: inside libportsafe.so, ::close would be the shim's own wrapper.
  ::syscall(SYS_close, fd);
  const int read_errno = errno;
  errno = saved_errno;
  if (len < 0) return read_errno == ESRCH ? Presence::gone : Presence::unknown;
  if (len == 0) return Presence::gone;  // the process exited while we read
  buf[len] = '\0';
  // comm (field 2) may contain spaces and parentheses: parse from the last ')'.
  const char* p = static_cast<const char*>(std::memchr(buf, ')', static_cast<size_t>(len)));
  for (const char* q = p; q != nullptr;
       q = static_cast<const char*>(std::memchr(q + 1, ')', static_cast<size_t>(buf + len - q - 1)))) {
    p = q;
  }
  if (p == nullptr || p[1] != ' ') return Presence::unknown;
  const char state = p[2];
  if (state == 'Z' || state == 'X' || state == 'x') return Presence::gone;
  // Field 3 is the state; field 22 (start time) is 19 spaces further.
  const char* field = p + 2;
  for (int i = 3; i < 22; ++i) {
    field = std::strchr(field, ' ');
    if (field == nullptr) return Presence::unknown;
    ++field;
  }
  uint64_t ticks = 0;
  if (*field < '0' || *field > '9') return Presence::unknown;
  while (*field >= '0' && *field <= '9') ticks = ticks * 10 + static_cast<uint64_t>(*field++ - '0');
  out = ProcessIdentity{static_cast<uint32_t>(pid), ticks};
  return Presence::present;
}

}  // namespace

std::optional<ProcessIdentity> read_process_identity(pid_t pid) noexcept {
  ProcessIdentity identity;
  if (probe_process(pid, identity) != Presence::present) return std::nullopt;
  return identity;
}

ProcessIdentity read_own_identity() noexcept {
  const pid_t self = ::getpid();
  if (auto me = read_process_identity(self)) return *me;
  // /proc is missing (a chroot, an odd sandbox): keep a pid-only identity rather than none.
  return ProcessIdentity{static_cast<uint32_t>(self), 0};
}

bool is_process_alive(const ProcessIdentity& who) noexcept {
  ProcessIdentity now_identity;
  const Presence presence = probe_process(static_cast<pid_t>(who.pid), now_identity);
  // Only a process /proc says is gone is dead: one we could not look at (say, because the caller
  // ran out of descriptors) must never have its claims reaped.
  if (presence == Presence::unknown) return true;
  if (presence == Presence::gone) return false;
  const auto* now = &now_identity;
  // Start times are compared in the width the table stores them in.
  return (now->start_ticks & kStartMask) == (who.start_ticks & kStartMask);
}

uint64_t pack_identity(const ProcessIdentity& who) noexcept {
  return (static_cast<uint64_t>(who.pid) & kPidMask) | ((who.start_ticks & kStartMask) << kPidBits);
}

ProcessIdentity unpack_identity(uint64_t packed) noexcept {
  return ProcessIdentity{static_cast<uint32_t>(packed & kPidMask), (packed >> kPidBits) & kStartMask};
}

std::optional<ProcessIdentity> parse_identity(const char* text) noexcept {
  if (text == nullptr) return std::nullopt;
  uint64_t pid = 0;
  uint64_t ticks = 0;
  const char* p = text;
  if (*p < '0' || *p > '9') return std::nullopt;
  while (*p >= '0' && *p <= '9') {
    pid = pid * 10 + static_cast<uint64_t>(*p++ - '0');
    if (pid > kPidMask) return std::nullopt;
  }
  if (*p++ != '.') return std::nullopt;
  if (*p < '0' || *p > '9') return std::nullopt;
  while (*p >= '0' && *p <= '9') {
    if (ticks > (~uint64_t{0}) / 16) return std::nullopt;
    ticks = ticks * 10 + static_cast<uint64_t>(*p++ - '0');
  }
  if (*p != '\0' || pid == 0) return std::nullopt;
  return ProcessIdentity{static_cast<uint32_t>(pid), ticks};
}

}  // namespace portsafe
