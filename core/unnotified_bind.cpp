#include "portsafe/unnotified_bind.hpp"

#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portsafe {

int bind_unnotified(int fd, const struct sockaddr* addr, socklen_t length) noexcept {
  sockaddr_storage padded{};
  const size_t copied = length < kUnnotifiedBindLength ? length : kUnnotifiedBindLength;
  std::memcpy(&padded, addr, copied);
  const long rc = ::syscall(SYS_bind, fd, &padded, kUnnotifiedBindLength);
  // The kernel checks an IPv6 socket's address length (at least 24) before its family.
  if (rc != 0 && errno == EAFNOSUPPORT && addr->sa_family == AF_INET && length < 24) errno = EINVAL;
  return static_cast<int>(rc);
}

}  // namespace portsafe
