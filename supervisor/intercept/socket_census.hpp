// The kernel's table of inet sockets, asked through NETLINK_SOCK_DIAG (inet_diag dumps filtered
// by local port in the kernel): which sockets still exist, by inode, and in which state. The
// seccomp tier sees no close(), so this is how it learns that a claimed socket is gone.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "portsafe/port_range.hpp"
#include "portsafe/port_table.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::intercept {

struct CensusEntry {
  uint64_t inode = 0;  // 0 for TIME_WAIT and request sockets
  uint16_t port = 0;   // local port
  uint8_t state = 0;   // TCP state numbers (UDP: 7 unconnected, 1 connected)
  uint32_t queued = 0;  // receive + send queue bytes
};

class SocketCensus {
 public:
  SocketCensus();  // opens the netlink socket; valid() says whether it worked
  // Reads the kernel's answers on socket, a NETLINK_SOCK_DIAG socket (tests hand one that still
  // holds a stale reply).
  explicit SocketCensus(UniqueFd socket) noexcept : fd_(std::move(socket)) {}
  bool valid() const noexcept { return fd_.valid(); }

  // Every IPv4 and IPv6 socket of proto whose local port is in ports; nullopt when the kernel
  // would not answer.
  std::optional<std::vector<CensusEntry>> list(Protocol proto, PortRange ports);

  // True when a bound, not listening, not connected TCP socket appears in the dumps (kernel 6.8+
  // lists them as "bound inactive"); before that the census cannot see such a socket at all.
  bool sees_bound_tcp_sockets();

 private:
  bool dump(int family, Protocol proto, PortRange ports, std::vector<CensusEntry>& out);
  bool read_dump(int family, Protocol proto, PortRange ports, std::vector<CensusEntry>& out);
  void reopen() noexcept;
  UniqueFd fd_;
  uint32_t sequence_ = 0;  // of the last request: a reply with another one is stale
};

// A live socket whose local port carries a connection (ESTABLISHED or a later state: a connected
// socket or a listener's accepted child), or a connected or busy UDP socket: the port is used.
bool shows_use(const CensusEntry& entry, Protocol proto) noexcept;

}  // namespace portsafe::intercept
