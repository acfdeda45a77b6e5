// What kind of socket and address a call is about: the shim only coordinates TCP and UDP over
// IPv4/IPv6; everything else (AF_UNIX, netlink, raw, SCTP, MPTCP...) passes through untouched.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>

#include "portsafe/bind_rules.hpp"
#include "portsafe/port_table.hpp"

namespace portsafe::shim {

// tcp for SOCK_STREAM with IPPROTO_TCP, udp for SOCK_DGRAM with IPPROTO_UDP; nullopt otherwise
// (and for AF_UNIX and the rest, whose protocols differ). Leaves errno as it was.
std::optional<Protocol> inet_socket_protocol(int fd) noexcept;

// Address helpers shared with the seccomp handler (the core's claim rules).
using ::portsafe::copy_with_port;
using ::portsafe::inet_address_port;

// The local port the socket is bound to, nullopt when fd is not a bound inet socket.
std::optional<uint16_t> local_port(int fd) noexcept;

// Reads/writes an int socket option (the real setsockopt: the caller notes what it changes),
// preserving errno; nullopt/false on failure.
std::optional<int> int_option(int fd, int level, int name) noexcept;
bool set_int_option(int fd, int level, int name, int value) noexcept;

}  // namespace portsafe::shim
