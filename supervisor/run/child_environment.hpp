// The environment COMMAND runs with: the shim preloaded, the job named, the ports exported, and
// the systemd socket-activation variables when --listen passes sockets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "portsafe/port_range.hpp"

namespace portsafe::run {

struct ExportedPort {
  std::string name;  // as the user wrote it
  uint16_t port = 0;
};

struct ChildSettings {
  std::string shim_path;       // prepended to LD_PRELOAD
  std::string job_name;        // PORTSAFE_JOB
  std::string job_id;          // PORTSAFE_JOB_ID ("PID.STARTTICKS")
  std::string runtime_dir;     // PORTSAFE_RUNTIME_DIR
  std::optional<PortRange> range;        // PORTSAFE_RANGE, when --range
  std::optional<uint32_t> linger_seconds;  // PORTSAFE_LINGER, when --linger
  std::vector<ExportedPort> ports;         // PORTSAFE_PORT_<NAME>
  std::vector<std::string> listen_names;   // LISTEN_FDNAMES, in descriptor order (fd 3, 4, ...)
  std::string intercept;                   // PORTSAFE_INTERCEPT (seccomp|preload), when set
  std::vector<ExportedPort> real_ports;    // PORTSAFE_REAL_PORT_<virtual port> (name: its digits)
  // --virtual: PORTSAFE_VIRTUAL is replaced by virtual_map (dropped when it is empty: bpf mode, so
  // nothing is rewritten twice); without --virtual an inherited value stays (an outer job's).
  bool virtual_set = false;
  std::string virtual_map;
  // PORTSAFE_VIRTUAL_KERNEL, replaced when non-empty (bpf mode: this job's and an outer bpf-mode
  // job's kernel-rewritten ports); empty: an inherited value stays.
  std::string virtual_kernel_map;
};

// Digits reserved after "LISTEN_PID=" for the child to fill in after fork.
inline constexpr size_t kListenPidDigits = 20;

struct ChildEnvironment {
  std::vector<std::string> entries;           // "KEY=VALUE"
  std::optional<size_t> listen_pid_index;     // the LISTEN_PID entry, padded with NULs to fill in
};

// LD_PRELOAD with shim first and no other copy of libportsafe.so (ours or another prefix's:
// two shims would both intercept bind()).
std::string prepend_preload(const char* existing, const std::string& shim_path);

// Builds the environment from `base` ("KEY=VALUE" strings, e.g. environ). Variables portsafe-run
// sets replace inherited ones; inherited LISTEN_* are always dropped (they were meant for
// portsafe-run's own parent's child, not for COMMAND).
ChildEnvironment build_child_environment(const std::vector<std::string>& base, const ChildSettings& settings);

// Writes pid's digits into the reserved LISTEN_PID entry. Async-signal-safe: no allocation, for
// the child between fork and exec.
void fill_listen_pid(char* entry, long pid) noexcept;

}  // namespace portsafe::run
