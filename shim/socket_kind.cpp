#include "socket_kind.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "real_libc.hpp"

namespace portsafe::shim {

std::optional<int> int_option(int fd, int level, int name) noexcept {
  const int saved_errno = errno;
  int value = 0;
  socklen_t length = sizeof value;
  const int rc = ::getsockopt(fd, level, name, &value, &length);
  errno = saved_errno;
  if (rc != 0 || length != sizeof value) return std::nullopt;
  return value;
}

bool set_int_option(int fd, int level, int name, int value) noexcept {
  const int saved_errno = errno;
  const int rc = real().setsockopt(fd, level, name, &value, sizeof value);
  errno = saved_errno;
  return rc == 0;
}

std::optional<Protocol> inet_socket_protocol(int fd) noexcept {
  // No SO_DOMAIN query: callers already hold an inet address, and a socket of another family
  // given one fails in the kernel with the errno it would have had anyway.
  const auto type = int_option(fd, SOL_SOCKET, SO_TYPE);
  const auto protocol = int_option(fd, SOL_SOCKET, SO_PROTOCOL);
  if (!type || !protocol) return std::nullopt;
  if (*type == SOCK_STREAM && *protocol == IPPROTO_TCP) return Protocol::tcp;
  if (*type == SOCK_DGRAM && *protocol == IPPROTO_UDP) return Protocol::udp;
  return std::nullopt;
}

std::optional<uint16_t> inet_address_port(const struct sockaddr* addr, socklen_t length) noexcept {
  if (addr == nullptr) return std::nullopt;
  if (addr->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(addr)->sin_port);
  }
  if (addr->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(addr)->sin6_port);
  }
  return std::nullopt;
}

socklen_t copy_with_port(const struct sockaddr* addr, socklen_t length, uint16_t port,
                         struct sockaddr_storage& out) noexcept {
  const socklen_t copied = length < sizeof out ? length : static_cast<socklen_t>(sizeof out);
  std::memcpy(&out, addr, copied);
  if (out.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&out)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&out)->sin6_port = htons(port);
  }
  return copied;
}

std::optional<uint16_t> local_port(int fd) noexcept {
  const int saved_errno = errno;
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  const int rc = ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  errno = saved_errno;
  if (rc != 0) return std::nullopt;
  return inet_address_port(reinterpret_cast<const sockaddr*>(&addr), length);
}

}  // namespace portsafe::shim
