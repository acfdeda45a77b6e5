// What the shim learnt about a socket when the program created it and set its options, so a
// bind() need not ask the kernel four questions (type, protocol, IP_BIND_ADDRESS_NO_PORT,
// SO_REUSEADDR) — each a system call, together half the shim's cost on a bind.
//
// One byte per fd in a static array (lock-free, allocation-free). "Unknown" (0) whenever we did
// not see the socket made (inherited, accepted, received, dup'd: a dup shares its options with
// the original, so its own facts could go stale) or saw the number closed; bind() then asks the
// kernel as before. A number closed where we cannot see it (a raw syscall) and reused by a socket
// we did not see made can leave facts that are wrong: the worst outcome is a claim in the wrong
// protocol's half of the table, never a failed bind.
#pragma once

#include <cstdint>
#include <optional>

#include "portsafe/port_table.hpp"

namespace portsafe::shim {

struct SocketFacts {
  std::optional<Protocol> proto;  // nullopt: not TCP/UDP over inet
  bool reuse_address = false;
  bool bind_address_no_port = false;
};

// socket() made fd with these arguments.
void note_socket_created(int fd, int domain, int type, int protocol) noexcept;
// setsockopt() succeeded on fd.
void note_socket_option(int fd, int level, int name, const void* value, unsigned length) noexcept;
// fd was closed or now names a socket we did not see made.
void forget_socket_facts(int fd) noexcept;
void forget_socket_facts_range(unsigned first, unsigned last) noexcept;
// The facts, when known.
std::optional<SocketFacts> known_socket_facts(int fd) noexcept;

}  // namespace portsafe::shim
