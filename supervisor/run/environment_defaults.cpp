#include "run/environment_defaults.hpp"

#include <fmt/format.h>

#include "portsafe/environment.hpp"

namespace portsafe::run {
namespace {

const char* non_empty(const EnvironmentLookup& lookup, const char* name) {
  const char* text = lookup(name);
  return text != nullptr && *text != '\0' ? text : nullptr;
}

}  // namespace

std::optional<std::string> apply_environment_defaults(RunOptions& options, const EnvironmentLookup& lookup) {
  if (const char* text = non_empty(lookup, env::kRange); text != nullptr && !options.range) {
    const RangeParse parsed = parse_port_range(text);
    if (!parsed.ok) return fmt::format("{}: {}; fix it or unset it", env::kRange, parsed.error);
    options.range = parsed.range;
    options.range_origin = fmt::format("{}={}", env::kRange, text);
  }
  if (const char* text = non_empty(lookup, env::kLinger); text != nullptr && !options.linger_seconds) {
    const Checked<uint32_t> linger = parse_linger(text);
    if (!linger.ok()) {
      return fmt::format("{}={}: give whole seconds from 0 to 86400 (e.g. {}=30), or unset it", env::kLinger,
                         text, env::kLinger);
    }
    options.linger_seconds = *linger.value;
  }
  return std::nullopt;
}

}  // namespace portsafe::run
