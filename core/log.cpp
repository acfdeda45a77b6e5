#include "portsafe/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "portsafe/environment.hpp"

namespace portsafe {
namespace {
std::string g_identity = "portsafe";
std::atomic<LogLevel> g_level{LogLevel::warn};

// The last text parse_log_level could not read, kept until set_log_level reports it. A fixed
// buffer: parse_log_level is noexcept and the shim calls it too, where nothing may allocate late.
constexpr size_t kIgnoredBytes = 64;
char g_ignored[kIgnoredBytes] = {};
bool g_ignored_pending = false;
bool g_ignored_from_environment = false;

constexpr const char* kAccepted = "use off, warn, info or debug (or 0-3)";

void remember_ignored(const char* text) noexcept {
  std::strncpy(g_ignored, text, kIgnoredBytes - 1);
  g_ignored[kIgnoredBytes - 1] = '\0';
  // getenv returns the same pointer each time: it tells the variable from a command-line value.
  g_ignored_from_environment = text == std::getenv(env::kLog);
  g_ignored_pending = true;
}

std::string describe_ignored(const char* text, bool from_environment) {
  std::string line = from_environment ? std::string(env::kLog) + "=" : std::string("log level ");
  line += '\'';
  line += text;
  line += "' is not a log level and is ignored: ";
  line += kAccepted;
  return line;
}
}  // namespace

bool is_log_level_text(const char* text) noexcept {
  if (text == nullptr) return false;
  for (const char* accepted : {"off", "0", "warn", "1", "info", "2", "debug", "3"}) {
    if (!std::strcmp(text, accepted)) return true;
  }
  return false;
}

LogLevel parse_log_level(const char* text, LogLevel fallback) noexcept {
  if (text == nullptr) return fallback;
  if (!std::strcmp(text, "off") || !std::strcmp(text, "0")) return LogLevel::off;
  if (!std::strcmp(text, "warn") || !std::strcmp(text, "1")) return LogLevel::warn;
  if (!std::strcmp(text, "info") || !std::strcmp(text, "2")) return LogLevel::info;
  if (!std::strcmp(text, "debug") || !std::strcmp(text, "3")) return LogLevel::debug;
  // An empty PORTSAFE_LOG means "unset" (as `PORTSAFE_LOG= cmd` is usually meant): no complaint.
  if (*text != '\0') remember_ignored(text);
  return fallback;
}

std::string describe_ignored_log_level(const char* text) {
  if (text == nullptr || *text == '\0' || is_log_level_text(text)) return {};
  return describe_ignored(text, true);
}

void set_log_identity(std::string_view program) { g_identity = std::string(program); }

void set_log_level(LogLevel level) {
  g_level.store(level);
  if (g_ignored_pending) {
    g_ignored_pending = false;
    log_warn("{}", describe_ignored(g_ignored, g_ignored_from_environment));
  }
}

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
