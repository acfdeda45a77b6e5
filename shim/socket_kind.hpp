// What kind of socket and address a call is about: the shim only coordinates TCP and UDP over
// IPv4/IPv6; everything else (AF_UNIX, netlink, raw, SCTP, MPTCP...) passes through untouched.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>

#include "portsafe/port_table.hpp"

namespace portsafe::shim {

// tcp for SOCK_STREAM with IPPROTO_TCP, udp for SOCK_DGRAM with IPPROTO_UDP; nullopt otherwise
// (and for AF_UNIX and the rest, whose protocols differ). Leaves errno as it was.
std::optional<Protocol> inet_socket_protocol(int fd) noexcept;

// The port of an AF_INET/AF_INET6 address of adequate length; nullopt for any other address.
std::optional<uint16_t> inet_address_port(const struct sockaddr* addr, socklen_t length) noexcept;

// Copies addr into out with its port replaced (addr must be a valid inet address).
socklen_t copy_with_port(const struct sockaddr* addr, socklen_t length, uint16_t port,
                         struct sockaddr_storage& out) noexcept;

// The local port the socket is bound to, nullopt when fd is not a bound inet socket.
std::optional<uint16_t> local_port(int fd) noexcept;

// Reads/writes an int socket option (the real setsockopt: the caller notes what it changes),
// preserving errno; nullopt/false on failure.
std::optional<int> int_option(int fd, int level, int name) noexcept;
bool set_int_option(int fd, int level, int name, int value) noexcept;

}  // namespace portsafe::shim
