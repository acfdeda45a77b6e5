// Virtual ports (issue 12): inside a job, a hard-coded port V (8080) stands for a real port R
// the supervisor holds for that job. Whatever rewrites addresses for a job (the preload shim;
// the launcher formats the list) decides here, so every tier rewrites the same way:
//   bind(any address:V)                         -> R
//   connect/sendto/sendmsg(LOCAL address:V)     -> R
//   getsockname reporting R                     -> V
//   getpeername/recvfrom/recvmsg reporting LOCAL address:R -> V
// The wire form is PORTSAFE_VIRTUAL="8080/tcp=23456,53/udp=23457" (the protocol defaults to tcp);
// in bpf mode PORTSAFE_VIRTUAL_KERNEL carries the same form for the claim rules (bind_rules.hpp).
//
// Everything here but the std::string formatter is allocation-free and exception-free: the
// shim parses the list once at start-up into a fixed table and consults it inside socket calls.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "portsafe/port_table.hpp"

namespace portsafe {

struct VirtualPort {
  Protocol proto = Protocol::tcp;
  uint16_t virtual_port = 0;
  uint16_t real_port = 0;
};

// One job's virtual ports: a fixed array, searched linearly (a job has a handful).
class VirtualPorts {
 public:
  static constexpr std::size_t kCapacity = 256;  // portsafe-run refuses more (kMaxVirtualPorts)

  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }
  std::span<const VirtualPort> entries() const noexcept { return {entries_.data(), count_}; }

  // Adds one mapping. False (nothing added) when the table is full, a port is 0, or the entry
  // would make a lookup ambiguous: the same virtual port twice, two virtual ports on one real
  // port, or a port that is virtual in one entry and real in another (same protocol).
  bool add(const VirtualPort& entry) noexcept;

  // The real port behind virtual port `port`, or nullopt.
  std::optional<uint16_t> real_port(Protocol proto, uint16_t port) const noexcept;
  // The virtual port that real port `port` stands in for, or nullopt.
  std::optional<uint16_t> virtual_port(Protocol proto, uint16_t port) const noexcept;
  // Cheap pre-checks before the caller asks the kernel for the socket's protocol.
  bool is_virtual_port(uint16_t port) const noexcept;
  bool is_real_port(uint16_t port) const noexcept;

 private:
  std::array<VirtualPort, kCapacity> entries_{};
  std::size_t count_ = 0;
};

struct VirtualPortsParse {
  VirtualPorts ports;
  const char* error = nullptr;  // static text; null when the whole list parsed
  std::string_view bad_entry;   // the entry that failed (a view into the parsed text)
};

// Parses "V[/tcp|/udp]=R,..." (an empty text is an empty table). On any error the table is
// empty: a half-understood list would rewrite some ports and not others.
VirtualPortsParse parse_virtual_ports(std::string_view text) noexcept;

// Writes the wire form into buffer (NUL-terminated); returns the length needed without the NUL
// (larger than capacity-1 means it was cut short).
std::size_t format_virtual_ports(const VirtualPorts& ports, char* buffer, std::size_t capacity) noexcept;
std::string format_virtual_ports(const VirtualPorts& ports);
// The one line a malformed list earns: "ignoring VARIABLE=...: <why> in '<entry>'; <consequence>"
// (VARIABLE: PORTSAFE_VIRTUAL or PORTSAFE_VIRTUAL_KERNEL, which share the wire form).
std::string describe_virtual_ports_error(std::string_view variable, std::string_view text,
                                         const VirtualPortsParse& parse, std::string_view consequence);

// The network namespace's own interface addresses (snapshot), beside the loopback and wildcard
// addresses every namespace has. Fixed arrays: consulted inside connect()/sendto().
struct LocalAddresses {
  static constexpr std::size_t kCapacity = 32;
  std::array<uint32_t, kCapacity> v4{};  // network byte order
  std::size_t v4_count = 0;
  std::array<std::array<uint8_t, 16>, kCapacity> v6{};
  std::size_t v6_count = 0;

  void add_v4(uint32_t address_be) noexcept;
  void add_v6(const uint8_t (&address)[16]) noexcept;
};

// Reads the interface addresses of the calling thread's network namespace (getifaddrs: it
// allocates, so call it at start-up only). Addresses beyond the capacity are left out.
LocalAddresses read_interface_addresses() noexcept;

// True when addr (AF_INET/AF_INET6 of adequate length) names this host inside its network
// namespace: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104, the wildcards 0.0.0.0, ::, ::ffff:0.0.0.0
// (a connect() to a wildcard reaches the local host), or one of `interfaces`.
bool is_local_address(const struct sockaddr* addr, socklen_t length, const LocalAddresses* interfaces) noexcept;

// bind(): addr with a virtual port becomes the same address with the real port, in out.
// Returns the length to pass on, or nullopt when nothing is rewritten (not inet, not virtual).
std::optional<socklen_t> rewrite_bind_address(const VirtualPorts& ports, Protocol proto, const struct sockaddr* addr,
                                              socklen_t length, struct sockaddr_storage& out) noexcept;

// connect()/sendto()/sendmsg(): as bind, but only for a local destination.
std::optional<socklen_t> rewrite_destination(const VirtualPorts& ports, const LocalAddresses* interfaces,
                                             Protocol proto, const struct sockaddr* addr, socklen_t length,
                                             struct sockaddr_storage& out) noexcept;

// getsockname(): the socket's own address, in place: a real port becomes its virtual port.
// `length` is how many bytes of addr are valid (the whole address). True when rewritten.
bool report_local_address(const VirtualPorts& ports, Protocol proto, struct sockaddr* addr, socklen_t length) noexcept;

// getpeername()/recvfrom()/recvmsg(): the peer's address, in place: a real port becomes virtual
// when the peer is local (the whole address must lie inside `length`). True when rewritten.
bool report_peer_address(const VirtualPorts& ports, const LocalAddresses* interfaces, Protocol proto,
                         struct sockaddr* addr, socklen_t length) noexcept;

}  // namespace portsafe
