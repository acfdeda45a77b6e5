#include "portsafe/unnotified_bind.hpp"

#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portsafe {

namespace {

int raw_bind(int fd, const struct sockaddr* addr, socklen_t length) {
  return static_cast<int>(::syscall(SYS_bind, fd, addr, length));
}

}  // namespace

int bind_unnotified(int fd, const struct sockaddr* addr, socklen_t length, BindCall bind_call) noexcept {
  sockaddr_storage padded{};
  const size_t copied = length < kUnnotifiedBindLength ? length : kUnnotifiedBindLength;
  std::memcpy(&padded, addr, copied);
  const int rc = bind_call(fd, reinterpret_cast<const sockaddr*>(&padded), kUnnotifiedBindLength);
  // The kernel checks an IPv6 socket's address length (at least 24) before its family.
  if (rc != 0 && errno == EAFNOSUPPORT && addr->sa_family == AF_INET && length < 24) errno = EINVAL;
  return rc;
}

int bind_unnotified(int fd, const struct sockaddr* addr, socklen_t length) noexcept {
  return bind_unnotified(fd, addr, length, raw_bind);
}

}  // namespace portsafe
