// --virtual PORT[/tcp|/udp] and --virtual-mode: parsing and the checks that refuse bad input in
// one line (exit 125), and what COMMAND is told about its virtual ports.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portsafe/virtual_ports.hpp"
#include "run/run_options.hpp"

namespace portsafe::run {

// One job rewrites at most this many virtual ports (the BPF maps' and the shim's fixed size).
inline constexpr size_t kMaxVirtualPorts = 256;

// "8080", "8080/tcp" or "53/udp" -> a PortSpec held in place of that port.
Checked<PortSpec> parse_virtual_spec(std::string_view text);

std::optional<VirtualMode> parse_virtual_mode(std::string_view text);
const char* virtual_mode_name(VirtualMode mode);

// A virtual port given twice (whatever the protocols: PORTSAFE_REAL_PORT_<N> names one port), a
// virtual port that is also a --port name ({{N}} would mean two ports), too many virtual ports.
std::optional<std::string> check_virtual_ports(const std::vector<PortSpec>& ports);

// The key of {{N}} and PORTSAFE_REAL_PORT_<N>: the virtual port's digits.
std::string virtual_key(const PortSpec& spec);

struct HeldPort;
// This job's virtual ports (virtual -> held real port) joined with an inherited list's entries
// (the wire form, an outer job's), its own winning where they clash; a malformed inherited list
// is dropped.
VirtualPorts join_virtual_ports(const std::vector<HeldPort>& held, const char* inherited);

// PORTSAFE_VIRTUAL's value for the shim: "8080/tcp=23456,53/udp=23457" (empty: no virtual port).
// A nested job keeps an inherited list's entries (an outer shim-mode job's: the program still
// reaches the outer job's servers) except where its own virtual ports replace them.
std::string format_virtual_environment(const std::vector<HeldPort>& held, const char* inherited = nullptr);

// The ports the kernel rewrites for COMMAND, which the claim rules leave to it: in bpf mode this
// job's joined with an inherited PORTSAFE_VIRTUAL_KERNEL (an outer bpf-mode job's programs still
// apply to this nested one); else the inherited list alone (COMMAND inherits it unchanged).
// COMMAND's PORTSAFE_VIRTUAL_KERNEL is its wire form; the seccomp handler gets the table itself.
VirtualPorts kernel_virtual_ports(bool bpf, const std::vector<HeldPort>& held, const char* inherited);

}  // namespace portsafe::run
