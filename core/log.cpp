#include "portsafe/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>

namespace portsafe {
namespace {
std::string g_identity = "portsafe";
std::atomic<LogLevel> g_level{LogLevel::warn};
}  // namespace

LogLevel parse_log_level(const char* text, LogLevel fallback) noexcept {
  if (text == nullptr) return fallback;
  if (!std::strcmp(text, "off") || !std::strcmp(text, "0")) return LogLevel::off;
  if (!std::strcmp(text, "warn") || !std::strcmp(text, "1")) return LogLevel::warn;
  if (!std::strcmp(text, "info") || !std::strcmp(text, "2")) return LogLevel::info;
  if (!std::strcmp(text, "debug") || !std::strcmp(text, "3")) return LogLevel::debug;
  return fallback;
}

void set_log_identity(std::string_view program) { g_identity = std::string(program); }
void set_log_level(LogLevel level) { g_level.store(level); }
LogLevel log_level() { return g_level.load(); }

void write_log_line(std::string_view text) {
  std::string line = g_identity;
  line += ": ";
  line += text;
  line += '\n';
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace portsafe
