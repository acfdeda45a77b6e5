// The addresses the shim reports back: never more bytes than the program's buffer holds, the
// full size in *length, the prefix of the rewritten address in the buffer (the kernel's own
// truncation); errno as the kernel leaves it; a malformed length or descriptor fails as it would.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "virtual_fixture.hpp"

namespace portsafe::virtual_test {
namespace {

constexpr unsigned char kCanary = 0xa5;

class ReportedAddress : public ::testing::TestWithParam<int> {};

TEST_P(ReportedAddress, ShortBuffersGetTheKernelsTruncationOfTheVirtualAddress) {
  const int family = GetParam();
  const int server = bound_virtual(family, SOCK_STREAM, family == AF_INET ? "127.0.0.1" : "::1");
  sockaddr_storage whole{};
  socklen_t whole_length = sizeof whole;
  ASSERT_EQ(::getsockname(server, as_sockaddr(whole), &whole_length), 0);
  ASSERT_EQ(port_of(whole), kVirtual);
  for (socklen_t capacity = 0; capacity <= whole_length; ++capacity) {
    unsigned char buffer[sizeof(sockaddr_storage) + 8];
    std::memset(buffer, kCanary, sizeof buffer);
    socklen_t length = capacity;
    ASSERT_EQ(::getsockname(server, reinterpret_cast<sockaddr*>(buffer), &length), 0) << capacity;
    EXPECT_EQ(length, whole_length) << capacity;
    EXPECT_EQ(std::memcmp(buffer, &whole, capacity), 0) << "capacity " << capacity;
    for (size_t i = capacity; i < sizeof buffer; ++i) {
      ASSERT_EQ(buffer[i], kCanary) << "byte " << i << " written beyond capacity " << capacity;
    }
  }
  ::close(server);
}

TEST_P(ReportedAddress, AShortRecvfromBufferIsCutAfterTheRewrite) {
  const int family = GetParam();
  const char* host = family == AF_INET ? "127.0.0.1" : "::1";
  const int server = bound_virtual(family, SOCK_DGRAM, host);
  const int client = with_receive_timeout(::socket(family, SOCK_DGRAM, 0));
  const sockaddr_storage target = address(family, host, kVirtual);
  ASSERT_EQ(::sendto(client, "x", 1, 0, as_sockaddr(target), length_of(target)), 1);
  char data[4];
  ASSERT_EQ(::recvfrom(server, data, sizeof data, 0, nullptr, nullptr), 1);
  sockaddr_storage sender{};
  socklen_t sender_length = sizeof sender;
  ASSERT_EQ(::getsockname(client, as_sockaddr(sender), &sender_length), 0);
  ASSERT_EQ(::sendto(server, "y", 1, 0, as_sockaddr(sender), sender_length), 1);
  // The server's answer comes from the real port; four bytes hold family and (virtual) port.
  unsigned char buffer[16];
  std::memset(buffer, kCanary, sizeof buffer);
  socklen_t length = 4;
  ASSERT_EQ(::recvfrom(client, data, sizeof data, 0, reinterpret_cast<sockaddr*>(buffer), &length), 1);
  EXPECT_EQ(length, length_of(target));
  uint16_t port_be = 0;
  std::memcpy(&port_be, buffer + 2, 2);
  EXPECT_EQ(ntohs(port_be), kVirtual);
  for (size_t i = 4; i < sizeof buffer; ++i) ASSERT_EQ(buffer[i], kCanary) << "byte " << i;
  ::close(client);
  ::close(server);
}

// An address the program may not write: libc returns EFAULT there, and so must the shim (its
// copy into a short buffer used to crash the program instead). Short lengths take the copy path.
sockaddr* invalid_address() { return reinterpret_cast<sockaddr*>(std::uintptr_t{1}); }

TEST_P(ReportedAddress, AnInvalidShortBufferFailsWithEfaultLikeTheKernel) {
  const int family = GetParam();
  const char* host = family == AF_INET ? "127.0.0.1" : "::1";
  const int virtual_socket = bound_virtual(family, SOCK_STREAM, host);
  const int unrelated = ::socket(family, SOCK_STREAM, 0);
  const sockaddr_storage any = address(family, host, 0);
  ASSERT_EQ(::bind(unrelated, as_sockaddr(any), length_of(any)), 0);
  for (const int fd : {virtual_socket, unrelated}) {
    for (const socklen_t capacity : {socklen_t{2}, socklen_t{4}, socklen_t{16}}) {
      socklen_t length = capacity;
      errno = 0;
      EXPECT_EQ(::getsockname(fd, invalid_address(), &length), -1) << capacity;
      EXPECT_EQ(errno, EFAULT) << "getsockname, capacity " << capacity;
    }
  }
  // The peer of a connection to the virtual port is the real port: rewritten, then refused.
  ASSERT_EQ(::listen(virtual_socket, 1), 0);
  const int client = ::socket(family, SOCK_STREAM, 0);
  const sockaddr_storage target = address(family, host, kVirtual);
  ASSERT_EQ(::connect(client, as_sockaddr(target), length_of(target)), 0);
  socklen_t length = 4;
  errno = 0;
  EXPECT_EQ(::getpeername(client, invalid_address(), &length), -1);
  EXPECT_EQ(errno, EFAULT);
  ::close(client);
  ::close(unrelated);
  ::close(virtual_socket);
}

TEST_P(ReportedAddress, AnInvalidShortRecvfromBufferFailsWithEfaultLikeTheKernel) {
  const int family = GetParam();
  const char* host = family == AF_INET ? "127.0.0.1" : "::1";
  const int server = bound_virtual(family, SOCK_DGRAM, host);
  const int client = with_receive_timeout(::socket(family, SOCK_DGRAM, 0));
  const sockaddr_storage target = address(family, host, kVirtual);
  ASSERT_EQ(::sendto(client, "x", 1, 0, as_sockaddr(target), length_of(target)), 1);
  char data[4];
  socklen_t length = 4;
  // From an unrelated (ephemeral) port: nothing to rewrite.
  errno = 0;
  EXPECT_EQ(::recvfrom(server, data, sizeof data, 0, invalid_address(), &length), -1);
  EXPECT_EQ(errno, EFAULT);
  sockaddr_storage sender{};
  socklen_t sender_length = sizeof sender;
  ASSERT_EQ(::getsockname(client, as_sockaddr(sender), &sender_length), 0);
  ASSERT_EQ(::sendto(server, "y", 1, 0, as_sockaddr(sender), sender_length), 1);
  // From the real port: rewritten to the virtual one, then refused by the kernel's copy.
  length = 4;
  errno = 0;
  EXPECT_EQ(::recvfrom(client, data, sizeof data, 0, invalid_address(), &length), -1);
  EXPECT_EQ(errno, EFAULT);
  // recvmsg's name buffer the same way.
  ASSERT_EQ(::sendto(server, "z", 1, 0, as_sockaddr(sender), sender_length), 1);
  iovec part{data, sizeof data};
  msghdr message{};
  message.msg_name = invalid_address();
  message.msg_namelen = 4;
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  errno = 0;
  EXPECT_EQ(::recvmsg(client, &message, 0), -1);
  EXPECT_EQ(errno, EFAULT);
  ::close(client);
  ::close(server);
}

INSTANTIATE_TEST_SUITE_P(Families, ReportedAddress, ::testing::Values(AF_INET, AF_INET6));

TEST(ReportedAddressErrno, SuccessKeepsErrnoAndFailureKeepsTheKernels) {
  const int server = bound_virtual(AF_INET, SOCK_STREAM, "127.0.0.1");
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  errno = EDOM;
  ASSERT_EQ(::getsockname(server, as_sockaddr(addr), &length), 0);
  EXPECT_EQ(errno, EDOM);
  length = 2;
  errno = EDOM;
  ASSERT_EQ(::getsockname(server, as_sockaddr(addr), &length), 0);
  EXPECT_EQ(errno, EDOM);
  EXPECT_EQ(::getpeername(server, as_sockaddr(addr), &length), -1);
  EXPECT_EQ(errno, ENOTCONN);
  EXPECT_EQ(::getsockname(-1, as_sockaddr(addr), &length), -1);
  EXPECT_EQ(errno, EBADF);
  ::close(server);

  // Nothing listens on the UDP-only virtual port's TCP side, nor on 8080's real TCP port now.
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_storage target = address(AF_INET, "127.0.0.1", kVirtual);
  EXPECT_EQ(::connect(client, as_sockaddr(target), length_of(target)), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  ::close(client);
}

}  // namespace
}  // namespace portsafe::virtual_test
