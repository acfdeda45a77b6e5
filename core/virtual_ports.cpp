#include "portsafe/virtual_ports.hpp"

#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include "portsafe/bind_rules.hpp"

namespace portsafe {

// ---- the table ---------------------------------------------------------------------------------

bool VirtualPorts::add(const VirtualPort& entry) noexcept {
  if (count_ == kCapacity || entry.virtual_port == 0 || entry.real_port == 0) return false;
  for (const VirtualPort& known : entries()) {
    if (known.proto != entry.proto) continue;
    // Each lookup direction must have one answer, and a port must not be rewritten twice
    // (V1 -> R1 where R1 is itself virtual would send bind(R1)'s report back as V1).
    if (known.virtual_port == entry.virtual_port || known.real_port == entry.real_port ||
        known.virtual_port == entry.real_port || known.real_port == entry.virtual_port) {
      return false;
    }
  }
  if (entry.virtual_port == entry.real_port) return false;
  entries_[count_++] = entry;
  return true;
}

std::optional<uint16_t> VirtualPorts::real_port(Protocol proto, uint16_t port) const noexcept {
  for (const VirtualPort& entry : entries()) {
    if (entry.proto == proto && entry.virtual_port == port) return entry.real_port;
  }
  return std::nullopt;
}

std::optional<uint16_t> VirtualPorts::virtual_port(Protocol proto, uint16_t port) const noexcept {
  for (const VirtualPort& entry : entries()) {
    if (entry.proto == proto && entry.real_port == port) return entry.virtual_port;
  }
  return std::nullopt;
}

bool VirtualPorts::is_virtual_port(uint16_t port) const noexcept {
  for (const VirtualPort& entry : entries()) {
    if (entry.virtual_port == port) return true;
  }
  return false;
}

bool VirtualPorts::is_real_port(uint16_t port) const noexcept {
  for (const VirtualPort& entry : entries()) {
    if (entry.real_port == port) return true;
  }
  return false;
}

// ---- the wire form -----------------------------------------------------------------------------

namespace {

std::optional<uint16_t> parse_port_number(std::string_view text) noexcept {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value == 0 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

// "V[/proto]=R" -> entry, or the reason it is not one.
const char* parse_entry(std::string_view text, VirtualPort& out) noexcept {
  const std::size_t equals = text.find('=');
  if (equals == std::string_view::npos) return "expected VIRTUAL[/tcp|/udp]=REAL";
  std::string_view left = text.substr(0, equals);
  out.proto = Protocol::tcp;
  if (const std::size_t slash = left.find('/'); slash != std::string_view::npos) {
    const auto proto = parse_protocol(left.substr(slash + 1));
    if (!proto) return "the protocol must be tcp or udp";
    out.proto = *proto;
    left = left.substr(0, slash);
  }
  const auto virtual_port = parse_port_number(left);
  const auto real_port = parse_port_number(text.substr(equals + 1));
  if (!virtual_port || !real_port) return "ports are numbers from 1 to 65535";
  out.virtual_port = *virtual_port;
  out.real_port = *real_port;
  return nullptr;
}

}  // namespace

VirtualPortsParse parse_virtual_ports(std::string_view text) noexcept {
  VirtualPortsParse result;
  bool more = !text.empty();
  while (more) {
    // Every comma starts an entry: "8080=23456," has an empty (bad) second entry.
    const std::size_t comma = text.find(',');
    const std::string_view entry_text = text.substr(0, comma);
    more = comma != std::string_view::npos;
    text = more ? text.substr(comma + 1) : std::string_view();
    VirtualPort entry;
    const char* error = parse_entry(entry_text, entry);
    if (error == nullptr && !result.ports.add(entry)) {
      error = result.ports.size() == VirtualPorts::kCapacity
                  ? "more virtual ports than the shim can carry (256)"
                  : "a port appears twice (each virtual and each real port once per protocol, never equal)";
    }
    if (error != nullptr) {
      result.ports = VirtualPorts{};
      result.error = error;
      result.bad_entry = entry_text;
      return result;
    }
  }
  return result;
}

std::size_t format_virtual_ports(const VirtualPorts& ports, char* buffer, std::size_t capacity) noexcept {
  std::size_t needed = 0;
  for (const VirtualPort& entry : ports.entries()) {
    char one[32];
    const auto end = fmt::format_to_n(one, sizeof one, "{}{}/{}={}", needed == 0 ? "" : ",", entry.virtual_port,
                                      protocol_name(entry.proto), entry.real_port);
    const std::size_t length = std::min(end.size, sizeof one);
    if (capacity > 0 && needed < capacity - 1) {
      std::memcpy(buffer + needed, one, std::min(length, capacity - 1 - needed));
    }
    needed += length;
  }
  if (capacity > 0) buffer[std::min(needed, capacity - 1)] = '\0';
  return needed;
}

std::string format_virtual_ports(const VirtualPorts& ports) {
  std::string text(format_virtual_ports(ports, nullptr, 0), '\0');
  format_virtual_ports(ports, text.data(), text.size() + 1);
  return text;
}

std::string describe_virtual_ports_error(std::string_view variable, std::string_view text,
                                         const VirtualPortsParse& parse, std::string_view consequence) {
  return fmt::format("ignoring {}={}: {} in '{}'; {}", variable, text,
                     parse.error != nullptr ? parse.error : "invalid", parse.bad_entry, consequence);
}

// ---- local addresses ---------------------------------------------------------------------------

void LocalAddresses::add_v4(uint32_t address_be) noexcept {
  if (v4_count < kCapacity) v4[v4_count++] = address_be;
}

void LocalAddresses::add_v6(const uint8_t (&address)[16]) noexcept {
  if (v6_count < kCapacity) std::memcpy(v6[v6_count++].data(), address, 16);
}

LocalAddresses read_interface_addresses() noexcept {
  LocalAddresses local;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return local;
  for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr) continue;
    if (it->ifa_addr->sa_family == AF_INET) {
      local.add_v4(reinterpret_cast<const sockaddr_in*>(it->ifa_addr)->sin_addr.s_addr);
    } else if (it->ifa_addr->sa_family == AF_INET6) {
      local.add_v6(reinterpret_cast<const sockaddr_in6*>(it->ifa_addr)->sin6_addr.s6_addr);
    }
  }
  ::freeifaddrs(list);
  return local;
}

namespace {

bool is_local_v4(uint32_t address_be, const LocalAddresses* interfaces) noexcept {
  const uint32_t host = ntohl(address_be);
  if ((host >> 24) == 127 || host == INADDR_ANY) return true;
  if (interfaces == nullptr) return false;
  for (std::size_t i = 0; i < interfaces->v4_count; ++i) {
    if (interfaces->v4[i] == address_be) return true;
  }
  return false;
}

bool is_local_v6(const in6_addr& address, const LocalAddresses* interfaces) noexcept {
  if (IN6_IS_ADDR_LOOPBACK(&address) || IN6_IS_ADDR_UNSPECIFIED(&address)) return true;
  if (IN6_IS_ADDR_V4MAPPED(&address)) {
    uint32_t v4 = 0;
    std::memcpy(&v4, address.s6_addr + 12, sizeof v4);
    return is_local_v4(v4, interfaces);
  }
  if (interfaces == nullptr) return false;
  for (std::size_t i = 0; i < interfaces->v6_count; ++i) {
    if (std::memcmp(interfaces->v6[i].data(), address.s6_addr, 16) == 0) return true;
  }
  return false;
}

}  // namespace

bool is_local_address(const struct sockaddr* addr, socklen_t length, const LocalAddresses* interfaces) noexcept {
  if (addr == nullptr) return false;
  if (addr->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    return is_local_v4(reinterpret_cast<const sockaddr_in*>(addr)->sin_addr.s_addr, interfaces);
  }
  if (addr->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    return is_local_v6(reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, interfaces);
  }
  return false;
}

// ---- the rewrites ------------------------------------------------------------------------------

namespace {

void set_port(struct sockaddr* addr, uint16_t port) noexcept {
  // sin_port and sin6_port share their offset; written through the right type all the same.
  if (addr->sa_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(addr)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(addr)->sin6_port = htons(port);
  }
}

}  // namespace

std::optional<socklen_t> rewrite_bind_address(const VirtualPorts& ports, Protocol proto, const struct sockaddr* addr,
                                              socklen_t length, struct sockaddr_storage& out) noexcept {
  if (!fits_address_copy(length)) return std::nullopt;  // the kernel's EINVAL, unchanged
  const auto port = inet_address_port(addr, length);
  if (!port) return std::nullopt;
  const auto real = ports.real_port(proto, *port);
  if (!real) return std::nullopt;
  return copy_with_port(addr, length, *real, out);
}

std::optional<socklen_t> rewrite_destination(const VirtualPorts& ports, const LocalAddresses* interfaces,
                                             Protocol proto, const struct sockaddr* addr, socklen_t length,
                                             struct sockaddr_storage& out) noexcept {
  if (!is_local_address(addr, length, interfaces)) return std::nullopt;
  return rewrite_bind_address(ports, proto, addr, length, out);
}

bool report_local_address(const VirtualPorts& ports, Protocol proto, struct sockaddr* addr, socklen_t length) noexcept {
  const auto port = inet_address_port(addr, length);
  const auto virtual_port = port ? ports.virtual_port(proto, *port) : std::nullopt;
  if (!virtual_port) return false;
  set_port(addr, *virtual_port);
  return true;
}

bool report_peer_address(const VirtualPorts& ports, const LocalAddresses* interfaces, Protocol proto,
                         struct sockaddr* addr, socklen_t length) noexcept {
  if (!is_local_address(addr, length, interfaces)) return false;
  const auto port = inet_address_port(addr, length);
  const auto virtual_port = port ? ports.virtual_port(proto, *port) : std::nullopt;
  if (!virtual_port) return false;
  set_port(addr, *virtual_port);
  return true;
}

}  // namespace portsafe
