// Logging for portsafe's own programs (not the shim, which logs without allocating): one line per
// event on stderr, "portsafe-run: message". Level from --verbose/--quiet or PORTSAFE_LOG.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace portsafe {

enum class LogLevel { off = 0, warn = 1, info = 2, debug = 3 };

// Parses off|warn|info|debug (also 0-3); default when null or unknown.
LogLevel parse_log_level(const char* text, LogLevel fallback = LogLevel::warn) noexcept;

void set_log_identity(std::string_view program);  // the prefix of every line
void set_log_level(LogLevel level);
LogLevel log_level();
void write_log_line(std::string_view text);  // adds the prefix and newline; one write(2)

template <typename... Args>
void log_at(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level <= log_level() && level != LogLevel::off) write_log_line(fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void log_warn(fmt::format_string<Args...> format, Args&&... args) {
  log_at(LogLevel::warn, format, std::forward<Args>(args)...);
}
template <typename... Args>
void log_info(fmt::format_string<Args...> format, Args&&... args) {
  log_at(LogLevel::info, format, std::forward<Args>(args)...);
}
template <typename... Args>
void log_debug(fmt::format_string<Args...> format, Args&&... args) {
  log_at(LogLevel::debug, format, std::forward<Args>(args)...);
}
// Errors are always printed, whatever the level.
template <typename... Args>
void log_error(fmt::format_string<Args...> format, Args&&... args) {
  write_log_line(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace portsafe
