// Who owns a claim: a pid alone is not enough, because pids are reused. A process is identified
// by its pid and its start time (field 22 of /proc/PID/stat, clock ticks since boot), so a
// reused pid is never mistaken for the owner that died.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace portsafe {

struct ProcessIdentity {
  uint32_t pid = 0;
  uint64_t start_ticks = 0;

  friend bool operator==(const ProcessIdentity&, const ProcessIdentity&) = default;
};

// Reads pid's identity; nullopt when the process does not exist or is a zombie (its sockets are
// already closed, so for us it is dead). Async-signal-safe and allocation-free: usable on the
// shim's bind path and in a fork child.
std::optional<ProcessIdentity> read_process_identity(pid_t pid) noexcept;

// The calling process, re-read each time (safe after fork).
ProcessIdentity read_own_identity() noexcept;

// True while the process that had this identity still runs. A pid that now belongs to a younger
// process counts as dead.
bool is_process_alive(const ProcessIdentity& who) noexcept;

// Start times are kept modulo 2^31 ticks (248 days at 100 Hz) so that an identity fits in a word
// of the port table; a reused pid would also need a start time equal modulo that to be confused.
inline constexpr unsigned kIdentityStartBits = 31;

// A job's id is its leader's identity packed in 53 bits: pid (22 bits; pid_max is at most 2^22)
// and start time (31 bits).
uint64_t pack_identity(const ProcessIdentity& who) noexcept;
ProcessIdentity unpack_identity(uint64_t packed) noexcept;

// "PID.STARTTICKS", the text form used in PORTSAFE_JOB_ID; parse returns nullopt on anything else.
std::optional<ProcessIdentity> parse_identity(const char* text) noexcept;

}  // namespace portsafe
