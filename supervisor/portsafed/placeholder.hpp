// The sockets behind held ports. A TCP placeholder is bound with SO_REUSEADDR and never listens:
// the kernel then skips the port for bind(0) and connect(), refuses plain binds, and still lets
// the job's consumer bind it with SO_REUSEADDR and listen. A UDP placeholder binds the wildcard
// address, because a more specific UDP bind would steal the consumer's datagrams.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "portsafe/port_table.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::supervisor {

struct Placeholders {
  UniqueFd v4;  // 0.0.0.0:PORT
  UniqueFd v6;  // [::]:PORT, IPV6_V6ONLY; absent when the host has no IPv6
};

// Binds both placeholders; returns 0 or the errno of the bind that failed (nothing is kept then).
int bind_placeholders(Protocol proto, uint16_t port, Placeholders& out);
// As bind_placeholders, but each bind is made without SO_REUSEADDR (set only afterwards, for the
// consumer's sake), so it fails while *any* socket uses the port: used when holding a port again
// for a job whose server may already serve it (a UDP placeholder bound after the server would
// steal its datagrams). Returns 0 or the errno of the bind that failed.
int bind_placeholders_exclusively(Protocol proto, uint16_t port, Placeholders& out);

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = 0;
};
// A numeric IPv4 or IPv6 address ("" is 0.0.0.0) with the port; false when it is neither.
bool parse_bind_address(const std::string& text, uint16_t port, SocketAddress& out);
bool is_wildcard(const SocketAddress& address);

// A fresh SO_REUSEADDR socket bound to address (listening when asked): a held port's consumer.
// Returns 0 or an errno value.
int bind_consumer(Protocol proto, const SocketAddress& address, bool listen, UniqueFd& out);

// Discards datagrams that reached a UDP placeholder before anyone served the port.
void drain_datagrams(int fd);

}  // namespace portsafe::supervisor
