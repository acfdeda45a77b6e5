#include "shim_config.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "portsafe/environment.hpp"

namespace portsafe::shim {

std::optional<uint32_t> parse_linger_seconds(const char* text) noexcept {
  if (text == nullptr || *text == '\0') return std::nullopt;
  uint32_t seconds = 0;
  for (const char* p = text; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return std::nullopt;
    seconds = seconds * 10 + static_cast<uint32_t>(*p - '0');
    if (seconds > 86'400) return std::nullopt;
  }
  return seconds;
}

ShimConfig read_config() {
  ShimConfig config;
  config.log_level = parse_log_level(std::getenv(env::kLog), LogLevel::warn);

  if (const char* text = std::getenv(env::kRange); text != nullptr && *text != '\0') {
    const RangeParse parsed = parse_port_range(text);
    if (parsed.ok) {
      config.range = parsed.range;
    } else {
      config.warnings.push_back(fmt::format("ignoring {}: {}", env::kRange, parsed.error));
    }
  }

  if (const char* text = std::getenv(env::kJobId); text != nullptr && *text != '\0') {
    const auto leader = parse_identity(text);
    if (!leader) {
      config.warnings.push_back(fmt::format("ignoring {}={}: expected PID.STARTTICKS as portsafe-run sets it; "
                                            "this process is a job of its own",
                                            env::kJobId, text));
    } else if (is_process_alive(*leader)) {
      config.leader = leader;
    }
    // A leader that is gone (its portsafe-run ended) makes this process a job of its own, silently:
    // that is what happens to every daemon a job leaves behind.
  }

  if (std::string ignored = describe_ignored_log_level(std::getenv(env::kLog)); !ignored.empty()) {
    config.warnings.push_back(std::move(ignored));
  }

  if (const char* text = std::getenv(env::kJob); text != nullptr) config.job_name = text;

  if (const char* text = std::getenv(env::kLinger); text != nullptr && *text != '\0') {
    config.linger_ms = parse_linger_seconds(text);
    if (config.linger_ms) {
      *config.linger_ms *= 1000;
    } else {
      config.warnings.push_back(
          fmt::format("ignoring {}={}: expected whole seconds from 0 to 86400", env::kLinger, text));
    }
  }
  return config;
}

}  // namespace portsafe::shim
