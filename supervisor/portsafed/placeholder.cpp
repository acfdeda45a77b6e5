#include "placeholder.hpp"
#include "portsafe/unnotified_bind.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

// Placeholders bind through bind_unnotified: a supervisor started from inside a seccomp-tier job
// (a nested portsafe-run) inherits the job's filter, and its holds must not go through the job's
// claim rules (the shim leaves portsafed alone for the same reason).
namespace portsafe::supervisor {
namespace {

int socket_type(Protocol proto) { return proto == Protocol::udp ? SOCK_DGRAM : SOCK_STREAM; }

int set_reuse(int fd) {
  const int one = 1;
  return ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ? errno : 0;
}

// reuse_first: SO_REUSEADDR before bind (the usual placeholder); else after (an exclusive bind).
int make_socket(int family, Protocol proto, bool reuse_first, UniqueFd& out) {
  UniqueFd fd(::socket(family, socket_type(proto) | SOCK_CLOEXEC, 0));
  if (!fd) return errno;
  if (reuse_first) {
    if (const int error = set_reuse(fd.get()); error != 0) return error;
  }
  out = std::move(fd);
  return 0;
}

int bind_wildcard_v4(Protocol proto, uint16_t port, bool reuse_first, UniqueFd& out) {
  UniqueFd fd;
  if (const int error = make_socket(AF_INET, proto, reuse_first, fd); error != 0) return error;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind_unnotified(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return errno;
  if (!reuse_first) {
    if (const int error = set_reuse(fd.get()); error != 0) return error;
  }
  out = std::move(fd);
  return 0;
}

// IPv6 may be compiled out or disabled; then there is nothing to hold on that side.
int bind_wildcard_v6(Protocol proto, uint16_t port, bool reuse_first, UniqueFd& out, bool& unavailable) {
  unavailable = false;
  UniqueFd fd;
  if (const int error = make_socket(AF_INET6, proto, reuse_first, fd); error != 0) {
    unavailable = error == EAFNOSUPPORT;
    return unavailable ? 0 : error;
  }
  const int one = 1;
  if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) return errno;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(port);
  addr.sin6_addr = in6addr_any;
  if (bind_unnotified(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    unavailable = errno == EADDRNOTAVAIL;
    return unavailable ? 0 : errno;
  }
  if (!reuse_first) {
    if (const int error = set_reuse(fd.get()); error != 0) return error;
  }
  out = std::move(fd);
  return 0;
}

int bind_both(Protocol proto, uint16_t port, bool reuse_first, Placeholders& out) {
  Placeholders made;
  if (const int error = bind_wildcard_v4(proto, port, reuse_first, made.v4); error != 0) return error;
  bool unavailable = false;
  if (const int error = bind_wildcard_v6(proto, port, reuse_first, made.v6, unavailable); error != 0) return error;
  out = std::move(made);
  return 0;
}

}  // namespace

int bind_placeholders(Protocol proto, uint16_t port, Placeholders& out) { return bind_both(proto, port, true, out); }

int bind_placeholders_exclusively(Protocol proto, uint16_t port, Placeholders& out) {
  return bind_both(proto, port, false, out);
}

bool parse_bind_address(const std::string& text, uint16_t port, SocketAddress& out) {
  out = SocketAddress{};
  if (text.empty() || text.find(':') == std::string::npos) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (!text.empty() && ::inet_pton(AF_INET, text.c_str(), &addr.sin_addr) != 1) return false;
    std::memcpy(&out.storage, &addr, sizeof addr);
    out.length = sizeof addr;
    out.family = AF_INET;
    return true;
  }
  std::string host = text;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(port);
  if (::inet_pton(AF_INET6, host.c_str(), &addr.sin6_addr) != 1) return false;
  std::memcpy(&out.storage, &addr, sizeof addr);
  out.length = sizeof addr;
  out.family = AF_INET6;
  return true;
}

bool is_wildcard(const SocketAddress& address) {
  if (address.family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  const auto* addr6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
  return std::memcmp(&addr6->sin6_addr, &in6addr_any, sizeof in6addr_any) == 0;
}

int bind_consumer(Protocol proto, const SocketAddress& address, bool listen, UniqueFd& out) {
  UniqueFd fd;
  if (const int error = make_socket(address.family, proto, true, fd); error != 0) return error;
  if (address.family == AF_INET6) {
    // Like the placeholder: the IPv4 side is held (and served) separately.
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (bind_unnotified(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) return errno;
  if (listen && proto == Protocol::tcp && ::listen(fd.get(), SOMAXCONN) != 0) return errno;
  out = std::move(fd);
  return 0;
}

void drain_datagrams(int fd) {
  char scratch[2048];
  // Bounded: a flood arriving while we drain must not keep the supervisor here.
  for (int i = 0; i < 4096; ++i) {
    if (::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) < 0) return;
  }
}

}  // namespace portsafe::supervisor
