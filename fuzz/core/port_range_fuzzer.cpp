// libFuzzer target for the range text a user gives (PORTSAFE_RANGE, portsafe-run --range) and the
// port lists the kernel gives (ip_local_reserved_ports). Beyond "no crash", it checks what callers
// rely on: an accepted range is valid and round-trips through format_range, a refusal always says
// what a valid range looks like, and every listed range is ordered.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "portsafe/port_range.hpp"

namespace {

using namespace portsafe;

void check_range(std::string_view text) {
  const RangeParse parsed = parse_port_range(text);
  if (!parsed.ok) {
    if (parsed.error.find("LOW-HIGH") == std::string::npos) std::abort();  // the fix must be named
    return;
  }
  const PortRange range = parsed.range;
  if (range.low < kLowestAllowedPort || range.low > range.high) std::abort();
  const RangeParse again = parse_port_range(format_range(range));
  if (!again.ok || again.range != range) std::abort();
}

void check_list(std::string_view text) {
  for (const PortRange& range : parse_port_list(text)) {
    if (range.low > range.high) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_range(text);
  check_list(text);
  return 0;
}
