// Which interception a job gets (portsafe-run --intercept, portsafe doctor): the preload shim
// alone, or the shim plus the seccomp tier. The seccomp tier needs either CAP_SYS_ADMIN or
// no_new_privs, and no_new_privs stops set-uid programs (sudo) from gaining privileges inside the
// job, so without privileges it is on only where the shim cannot reach COMMAND.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/binary_kind.hpp"

namespace portsafe::intercept {

enum class InterceptMode { automatic, preload, seccomp };

std::optional<InterceptMode> parse_intercept_mode(std::string_view text) noexcept;
const char* intercept_mode_name(InterceptMode mode) noexcept;

// CAP_SYS_ADMIN in the effective set: the filter goes in without no_new_privs.
bool has_sys_admin() noexcept;

// What this kernel offers the seccomp tier: user notification with a listener (5.0), and
// pidfd_open/pidfd_getfd (5.6). missing: one line naming what lacks, empty when all is there.
struct KernelSupport {
  bool ok = false;
  std::string missing;
};
KernelSupport probe_kernel_support();

// The handler thread's name (comm): how `portsafe status` tells that a job's launcher serves the
// seccomp tier, without asking anyone (/proc/LEADER/task/*/comm).
inline constexpr const char* kHandlerThreadName = "psafe-seccomp";

// "seccomp" when the process runs a seccomp handler thread, "preload" when it is alive without
// one, "" when it is gone.
std::string interception_of_process(uint32_t pid);

// auto: seccomp with CAP_SYS_ADMIN, or when COMMAND is a program the shim cannot reach (static,
// Go). Set-id commands stay preload-only: no_new_privs would disarm them.
bool wants_seccomp(InterceptMode mode, tools::BinaryKind command, bool privileged) noexcept;

}  // namespace portsafe::intercept
