#include "process_info.hpp"

#include <fmt/format.h>

#include <fstream>
#include <iterator>

namespace portsafe::admin {

std::string read_command_line(uint32_t pid, size_t max_length) {
  if (pid == 0) return {};
  std::ifstream file(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  if (!file) return {};
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  while (!text.empty() && text.back() == '\0') text.pop_back();
  for (char& c : text) {
    if (c == '\0' || c == '\n' || c == '\t') c = ' ';
  }
  if (text.size() > max_length) text = text.substr(0, max_length - 3) + "...";
  return text;
}

std::string format_age(int64_t age_ms) {
  const int64_t s = age_ms < 0 ? 0 : age_ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

}  // namespace portsafe::admin
