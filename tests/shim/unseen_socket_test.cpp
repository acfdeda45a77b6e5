// Sockets the shim did not see made (a raw socket() syscall, a dup sharing options with its
// original, an inherited one) are asked about with getsockopt(), so they are coordinated and
// their options honoured exactly like the ones whose socket()/setsockopt() the shim noted.
#include <fcntl.h>

#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

int raw_syscall_socket(int type) { return static_cast<int>(::syscall(SYS_socket, AF_INET, type, 0)); }

// A raw-syscall socket of each type is coordinated, and its claim lands in its protocol's table.
void expect_raw_syscall_socket_coordinated(int type, Protocol proto) {
  const int fd = raw_syscall_socket(type);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(bind_port(fd, 0), 0);
  EXPECT_TRUE(in_test_range(local_port(fd)));
  EXPECT_EQ(slot(proto, local_port(fd)).state, SlotState::bound);
  ::close(fd);
}

TEST(UnseenSocket, RawSyscallTcpSocketIsCoordinated) { expect_raw_syscall_socket_coordinated(SOCK_STREAM, Protocol::tcp); }

TEST(UnseenSocket, RawSyscallUdpSocketLandsInTheUdpTable) {
  expect_raw_syscall_socket_coordinated(SOCK_DGRAM, Protocol::udp);
}

TEST(UnseenSocket, OptionSetThroughTheOriginalIsHonouredOnADup) {
  const int original = make_socket();
  const int copy = ::fcntl(original, F_DUPFD_CLOEXEC, 0);
  const int on = 1;
  ASSERT_EQ(::setsockopt(original, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on), 0);
  ASSERT_EQ(bind_port(copy, 0), 0);
  EXPECT_EQ(local_port(copy), 0) << "IP_BIND_ADDRESS_NO_PORT, set through the other descriptor, is honoured";
  EXPECT_TRUE(table().list().empty());
  ::close(copy);
  ::close(original);
}

TEST(UnseenSocket, ReuseAddressSetThroughADupIsRestoredAfterThePick) {
  const int original = make_socket();
  const int copy = ::dup(original);
  const int on = 1;
  ASSERT_EQ(::setsockopt(copy, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on), 0);
  ASSERT_EQ(bind_port(original, 0), 0);
  EXPECT_EQ(reuse_address(original), 1);
  EXPECT_TRUE(in_test_range(local_port(original)));
  ::close(copy);
  ::close(original);
}

TEST(UnseenSocket, CharSizedNoPortOptionIsHonoured) {
  const int fd = make_socket();
  const unsigned char on = 1;
  ASSERT_EQ(::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on), 0);
  ASSERT_EQ(bind_port(fd, 0), 0);
  EXPECT_EQ(local_port(fd), 0);
  ::close(fd);
}

}  // namespace
}  // namespace portsafe::shim_test
