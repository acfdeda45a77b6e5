#include "run/run_options.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <set>

namespace portsafe::run {
namespace {

constexpr uint32_t kMaxLingerSeconds = 86'400;
constexpr size_t kMaxJobName = 200;

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

}  // namespace

Checked<PortSpec> parse_port_spec(std::string_view text, bool listen, bool handover) {
  const char* option = handover ? "--handover" : listen ? "--listen" : "--port";
  Checked<PortSpec> out;
  PortSpec spec;
  spec.listen = listen;
  spec.handover = handover;
  std::string_view name = text;
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    name = text.substr(0, slash);
    const std::string_view proto = text.substr(slash + 1);
    const auto parsed = parse_protocol(proto);
    if (!parsed) {
      out.error = fmt::format("{} {}: unknown protocol '{}'; write NAME, NAME/tcp or NAME/udp", option, text, proto);
      return out;
    }
    spec.proto = *parsed;
  }
  if (name.empty()) {
    out.error = fmt::format("{} '{}': the name is empty; give a name such as {} web", option, text, option);
    return out;
  }
  for (const char c : name) {
    if (!is_name_char(c)) {
      out.error = fmt::format("{} {}: a name may contain only letters, digits, '-' and '_' (e.g. {} db-main)",
                              option, text, option);
      return out;
    }
  }
  spec.name = std::string(name);
  out.value = std::move(spec);
  return out;
}

std::string port_env_key(std::string_view name) {
  std::string key;
  key.reserve(name.size());
  for (const char c : name) key += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return key;
}

std::optional<std::string> find_duplicate_name(const std::vector<PortSpec>& ports) {
  std::set<std::string> seen;
  for (const PortSpec& spec : ports) {
    const std::string key = port_env_key(spec.name);
    if (!seen.insert(key).second) {
      return fmt::format("the port name '{}' is given twice (names are compared as PORTSAFE_PORT_{}); give each port its own name",
                         spec.name, key);
    }
  }
  return std::nullopt;
}

Checked<uint32_t> parse_linger(std::string_view text) {
  Checked<uint32_t> out;
  uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > kMaxLingerSeconds) {
    out.error = fmt::format("--linger {}: give whole seconds from 0 to {} (e.g. --linger 30)", text, kMaxLingerSeconds);
    return out;
  }
  out.value = value;
  return out;
}

std::optional<std::string> check_job_name(std::string_view name) {
  if (name.empty()) return std::string("--job: the job id is empty; give a name such as --job unit-tests");
  if (name.size() > kMaxJobName) return fmt::format("--job: the job id is {} bytes; keep it under {}", name.size(), kMaxJobName + 1);
  for (const char c : name) {
    if (std::iscntrl(static_cast<unsigned char>(c)) != 0) {
      return std::string("--job: the job id contains a control character; use printable text");
    }
  }
  return std::nullopt;
}

}  // namespace portsafe::run
