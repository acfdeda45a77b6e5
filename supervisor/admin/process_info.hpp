// What `portsafe status` says about a process: its command line from /proc.
#pragma once

#include <cstdint>
#include <string>

namespace portsafe::admin {

// /proc/PID/cmdline with arguments joined by spaces; "" when the process is gone or hidden.
std::string read_command_line(uint32_t pid, size_t max_length = 60);

// "42s", "3m04s", "2h05m", "3d04h".
std::string format_age(int64_t age_ms);

}  // namespace portsafe::admin
