// A port the supervisor holds in place of a virtual one (portsafe-run --virtual 8080) carries the
// label "virtual 8080" in the table: `portsafe status` shows it as "8080 -> REAL (job X)". A
// space cannot occur in a --port name, so no named port reads as virtual.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portsafe {

inline constexpr std::string_view kVirtualLabelPrefix = "virtual ";

std::string format_virtual_label(uint16_t virtual_port);

// The virtual port a label stands for, or nullopt for any other label.
std::optional<uint16_t> parse_virtual_label(std::string_view label);

}  // namespace portsafe
