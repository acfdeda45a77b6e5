// Logging for portsafe's own programs (not the shim, which logs without allocating): one line per
// event on stderr, "portsafe-run: message". Level from --verbose/--quiet or PORTSAFE_LOG.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace portsafe {

enum class LogLevel { off = 0, warn = 1, info = 2, debug = 3 };

// Parses off|warn|info|debug (also 0-3); default when null or unknown. An unknown text is
// remembered, and the next set_log_level() says once (at warn) that it was ignored: every tool
// parses PORTSAFE_LOG this way, so each one reports a garbage value without repeating the check.
LogLevel parse_log_level(const char* text, LogLevel fallback = LogLevel::warn) noexcept;

// True for the texts parse_log_level accepts (off|warn|info|debug, 0-3); null is not one.
bool is_log_level_text(const char* text) noexcept;

// The one line that says a PORTSAFE_LOG value is ignored and names the accepted ones; empty when
// `text` is null, empty or valid. The shim puts it among its start-up warnings.
std::string describe_ignored_log_level(const char* text);

void set_log_identity(std::string_view program);  // the prefix of every line
// Sets the level; first reports a value parse_log_level ignored (unless the level is off).
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
