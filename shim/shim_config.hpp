// What the environment asks of the shim, read once at start-up (this may allocate: it runs in
// the library constructor, never on a wrapper's path).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "portsafe/log.hpp"
#include "portsafe/port_range.hpp"
#include "portsafe/process_identity.hpp"

namespace portsafe::shim {

struct ShimConfig {
  LogLevel log_level = LogLevel::warn;
  std::optional<PortRange> range;          // PORTSAFE_RANGE, when valid
  std::optional<ProcessIdentity> leader;   // PORTSAFE_JOB_ID, when valid and alive
  std::string job_name;                    // PORTSAFE_JOB
  std::optional<uint32_t> linger_ms;       // PORTSAFE_LINGER, when valid
  // One line each, naming the fix. Said by the job's leader only (configure): every process of a
  // job inherits the same environment, so a per-process warning would repeat in each of them.
  std::vector<std::string> warnings;
};

ShimConfig read_config();

// Parses PORTSAFE_LINGER: whole seconds, 0 to 86400.
std::optional<uint32_t> parse_linger_seconds(const char* text) noexcept;

}  // namespace portsafe::shim
