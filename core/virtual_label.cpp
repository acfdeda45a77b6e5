#include "portsafe/virtual_label.hpp"

#include <charconv>

namespace portsafe {

std::string format_virtual_label(uint16_t virtual_port) {
  return std::string(kVirtualLabelPrefix) + std::to_string(virtual_port);
}

std::optional<uint16_t> parse_virtual_label(std::string_view label) {
  if (!label.starts_with(kVirtualLabelPrefix)) return std::nullopt;
  const std::string_view digits = label.substr(kVirtualLabelPrefix.size());
  uint16_t port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || port == 0) return std::nullopt;
  return port;
}

}  // namespace portsafe
