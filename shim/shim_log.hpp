// The shim's logging: one line on stderr per event, formatted into a stack buffer and written
// with a single write(2), so it is usable on the bind/close paths (no heap, no lock, no throw).
//
// PORTSAFE_LOG levels: off (nothing), warn (the default: silent unless something is wrong),
// info (each decision: picks, refusals, fallbacks), debug (also passthroughs and releases).
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "portsafe/log.hpp"

namespace portsafe::shim {

extern std::atomic<int> g_log_level;  // a LogLevel; warn until configured

inline bool log_enabled(LogLevel level) noexcept {
  return level != LogLevel::off && static_cast<int>(level) <= g_log_level.load(std::memory_order_relaxed);
}

void write_line(const char* text, size_t length) noexcept;
size_t format_prefix(char* buffer, size_t capacity) noexcept;

template <typename... Args>
void log_line(LogLevel level, fmt::format_string<Args...> format, Args&&... args) noexcept {
  if (!log_enabled(level)) return;
  const int saved_errno = errno;
  char buffer[512];
  size_t used = format_prefix(buffer, sizeof buffer - 1);
  try {
    const auto result = fmt::format_to_n(buffer + used, sizeof buffer - 1 - used, format, std::forward<Args>(args)...);
    used += std::min(result.size, sizeof buffer - 1 - used);
  } catch (...) {
    // Formatting into a fixed buffer does not throw for our arguments; never let it escape.
  }
  buffer[used++] = '\n';
  write_line(buffer, used);
  errno = saved_errno;
}

// The warnings that are said once per process, whatever happens after.
enum class Once { range_outside_table, range_full, fallback_bind, host_blocks_full, count };
// True the first time it is called for `which` in this process.
bool first_time(Once which) noexcept;

}  // namespace portsafe::shim
