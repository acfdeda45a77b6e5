#include "socket_kind.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>

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
  return inet_protocol(*type, *protocol);
}

std::optional<uint16_t> local_port(int fd) noexcept {
  const int saved_errno = errno;
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  const int rc = real().getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  errno = saved_errno;
  if (rc != 0) return std::nullopt;
  return inet_address_port(reinterpret_cast<const sockaddr*>(&addr), length);
}

}  // namespace portsafe::shim
