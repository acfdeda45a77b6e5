// What the user asked portsafe-run for, checked: every bad input becomes one line naming the fix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "intercept/intercept_mode.hpp"
#include "portsafe/port_range.hpp"
#include "portsafe/port_table.hpp"

namespace portsafe::run {

// One --port or --listen: a named port the supervisor holds for the whole job.
struct PortSpec {
  std::string name;
  Protocol proto = Protocol::tcp;
  bool listen = false;  // --listen: pass the socket to COMMAND by socket activation
  // --handover: the consumer takes the socket from the supervisor (portsafe-docker-proxy), so the
  // port is closed to every other bind from reservation on (TCP listening, UDP not reusable).
  bool handover = false;
  // --virtual: held in place of this port (non-zero), which COMMAND keeps saying; name is then
  // the table label format_virtual_label gives ("virtual 8080").
  uint16_t virtual_port = 0;
};

// --virtual-mode: who rewrites the virtual ports (docs/portsafe-run.md "Virtual ports").
enum class VirtualMode { automatic, bpf, shim };

struct RunOptions {
  std::vector<PortSpec> ports;  // --port, --listen, --handover, then --virtual, each in command-line order
  std::string job;              // empty: from the CI environment or the outer job
  std::optional<PortRange> range;
  std::string range_origin;  // how the user gave it ("--range 1-2", "PORTSAFE_RANGE=1-2"), for messages
  std::optional<uint32_t> linger_seconds;
  VirtualMode virtual_mode = VirtualMode::automatic;  // --virtual-mode
  bool virtual_mode_given = false;
  intercept::InterceptMode intercept = intercept::InterceptMode::automatic;  // --intercept
  bool print = false;
  bool quiet = false;
  bool verbose = false;
  std::vector<std::string> command;
};

// A checked value, or the one-line reason it was refused.
template <typename T>
struct Checked {
  std::optional<T> value;
  std::string error;
  bool ok() const { return value.has_value(); }
};

// "NAME" or "NAME/tcp" or "NAME/udp"; NAME is [A-Za-z0-9_-]+.
Checked<PortSpec> parse_port_spec(std::string_view text, bool listen, bool handover = false);

// NAME as it appears in the environment: upper-cased, '-' becomes '_' ("db-main" -> "DB_MAIN").
std::string port_env_key(std::string_view name);

// Refuses two specs whose environment names collide (db and DB, a-b and a_b, web and web/udp).
std::optional<std::string> find_duplicate_name(const std::vector<PortSpec>& ports);

// --linger SECONDS: a whole number of seconds, at most a day.
Checked<uint32_t> parse_linger(std::string_view text);

// --job ID: printable, no control characters, at most 200 bytes.
std::optional<std::string> check_job_name(std::string_view name);

}  // namespace portsafe::run
