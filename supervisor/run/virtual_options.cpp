#include "run/virtual_options.hpp"

#include <fmt/format.h>

#include <charconv>
#include <map>

#include "portsafe/virtual_label.hpp"
#include "portsafe/virtual_ports.hpp"
#include "run/job_session.hpp"

namespace portsafe::run {

Checked<PortSpec> parse_virtual_spec(std::string_view text) {
  Checked<PortSpec> out;
  std::string_view number = text;
  PortSpec spec;
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    number = text.substr(0, slash);
    const std::string_view proto = text.substr(slash + 1);
    const auto parsed = parse_protocol(proto);
    if (!parsed) {
      out.error = fmt::format("--virtual {}: unknown protocol '{}'; write PORT, PORT/tcp or PORT/udp", text, proto);
      return out;
    }
    spec.proto = *parsed;
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc{} || end != number.data() + number.size() || value == 0 || value > 65535) {
    out.error = fmt::format("--virtual {}: not a port number; give 1 to 65535, e.g. --virtual 8080 or --virtual 53/udp",
                            text);
    return out;
  }
  spec.virtual_port = static_cast<uint16_t>(value);
  spec.name = format_virtual_label(spec.virtual_port);
  out.value = std::move(spec);
  return out;
}

std::optional<VirtualMode> parse_virtual_mode(std::string_view text) {
  if (text == "auto") return VirtualMode::automatic;
  if (text == "bpf") return VirtualMode::bpf;
  if (text == "shim") return VirtualMode::shim;
  return std::nullopt;
}

const char* virtual_mode_name(VirtualMode mode) {
  switch (mode) {
    case VirtualMode::bpf: return "bpf";
    case VirtualMode::shim: return "shim";
    case VirtualMode::automatic: break;
  }
  return "auto";
}

std::string virtual_key(const PortSpec& spec) { return std::to_string(spec.virtual_port); }

std::optional<std::string> check_virtual_ports(const std::vector<PortSpec>& ports) {
  std::map<uint16_t, const PortSpec*> seen;
  size_t count = 0;
  for (const PortSpec& spec : ports) {
    if (spec.virtual_port == 0) continue;
    ++count;
    if (const auto [it, fresh] = seen.emplace(spec.virtual_port, &spec); !fresh) {
      return fmt::format("--virtual {} is given twice (PORTSAFE_REAL_PORT_{} names one port, whatever the protocol); "
                         "give each virtual port once",
                         spec.virtual_port, spec.virtual_port);
    }
  }
  for (const PortSpec& spec : ports) {
    if (spec.virtual_port != 0) continue;
    for (const auto& [port, virtual_spec] : seen) {
      if (port_env_key(spec.name) == std::to_string(port)) {
        return fmt::format("port {} is both --virtual {} and a --port/--listen name ({{{{{}}}}} would mean two ports); "
                           "give it one role",
                           port, port, port);
      }
    }
  }
  if (count > kMaxVirtualPorts) {
    return fmt::format("{} virtual ports asked; a job can have at most {}", count, kMaxVirtualPorts);
  }
  return std::nullopt;
}

// The shim parses what the core formats: one definition of the wire form, and a table that
// holds every virtual port a job may ask for.
static_assert(kMaxVirtualPorts <= VirtualPorts::kCapacity);
VirtualPorts join_virtual_ports(const std::vector<HeldPort>& held, const char* inherited) {
  VirtualPorts ports;
  for (const HeldPort& port : held) {
    if (port.spec.virtual_port != 0) ports.add({port.spec.proto, port.spec.virtual_port, port.port});
  }
  // This job's entries went in first: an inherited one that clashes with them (same virtual
  // port, or a real port reused) is refused by add(), so the inner job's ports win.
  if (inherited != nullptr) {
    // Kept in a variable: a range-for over parse_virtual_ports(...).ports.entries() would read
    // the parse after its end (only the span's lifetime is extended; ASan saw it).
    const VirtualPortsParse outer_ports = parse_virtual_ports(inherited);
    for (const VirtualPort& outer : outer_ports.ports.entries()) ports.add(outer);
  }
  return ports;
}

std::string format_virtual_environment(const std::vector<HeldPort>& held, const char* inherited) {
  return format_virtual_ports(join_virtual_ports(held, inherited));
}

VirtualPorts kernel_virtual_ports(bool bpf, const std::vector<HeldPort>& held, const char* inherited) {
  return join_virtual_ports(bpf ? held : std::vector<HeldPort>{}, inherited);
}

}  // namespace portsafe::run
