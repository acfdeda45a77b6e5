#include "shim_log.hpp"

#include <unistd.h>

#include <algorithm>

namespace portsafe::shim {

std::atomic<int> g_log_level{static_cast<int>(LogLevel::warn)};

namespace {
std::atomic<bool> g_said[static_cast<int>(Once::count)];
}

void write_line(const char* text, size_t length) noexcept {
  while (length > 0) {
    const ssize_t written = ::write(STDERR_FILENO, text, length);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    text += written;
    length -= static_cast<size_t>(written);
  }
}

size_t format_prefix(char* buffer, size_t capacity) noexcept {
  try {
    const auto result = fmt::format_to_n(buffer, capacity, "portsafe[{}]: ", ::getpid());
    return std::min(result.size, capacity);
  } catch (...) {
    return 0;
  }
}

bool first_time(Once which) noexcept {
  return !g_said[static_cast<int>(which)].exchange(true, std::memory_order_relaxed);
}

}  // namespace portsafe::shim
