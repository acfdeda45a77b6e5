#include "intercept/intercept_mode.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace portsafe::intercept {

std::optional<InterceptMode> parse_intercept_mode(std::string_view text) noexcept {
  if (text == "auto") return InterceptMode::automatic;
  if (text == "preload") return InterceptMode::preload;
  if (text == "seccomp") return InterceptMode::seccomp;
  return std::nullopt;
}

const char* intercept_mode_name(InterceptMode mode) noexcept {
  switch (mode) {
    case InterceptMode::automatic: return "auto";
    case InterceptMode::preload: return "preload";
    case InterceptMode::seccomp: return "seccomp";
  }
  return "auto";
}

bool has_sys_admin() noexcept {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN)) != 0;
}

KernelSupport probe_kernel_support() {
  KernelSupport support;
  // read(2), not an ifstream: portsafe-run runs this at every launch, and a stream's locale set-up
  // costs more than the rest of the check.
  char text[256] = {};
  const int fd = ::open("/proc/sys/kernel/seccomp/actions_avail", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    (void)!::read(fd, text, sizeof text - 1);
    ::close(fd);
  }
  if (std::strstr(text, "user_notif") == nullptr) {
    support.missing = "no seccomp user notification (Linux 5.0+ with CONFIG_SECCOMP_FILTER)";
    return support;
  }
  // pidfd_getfd(-1, ...) fails with EBADF where the call exists, ENOSYS where it does not.
  if (::syscall(SYS_pidfd_getfd, -1, 0, 0u) != 0 && errno == ENOSYS) {
    support.missing = "no pidfd_getfd (Linux 5.6+)";
    return support;
  }
  support.ok = true;
  return support;
}

std::string interception_of_process(uint32_t pid) {
  std::error_code error;
  const std::filesystem::path tasks = fmt::format("/proc/{}/task", pid);
  bool alive = false;
  for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
    alive = true;
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name) && name == kHandlerThreadName) return "seccomp";
  }
  return alive ? "preload" : "";
}

bool wants_seccomp(InterceptMode mode, tools::BinaryKind command, bool privileged) noexcept {
  switch (mode) {
    case InterceptMode::preload: return false;
    case InterceptMode::seccomp: return true;
    case InterceptMode::automatic: break;
  }
  if (privileged) return true;
  return command == tools::BinaryKind::static_elf || command == tools::BinaryKind::go;
}

}  // namespace portsafe::intercept
