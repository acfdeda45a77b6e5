// What the shim does not coordinate reaches the kernel untouched: AF_UNIX, raw sockets,
// IP_BIND_ADDRESS_NO_PORT, ports outside the table's range.
#include <netinet/ip_icmp.h>
#include <sys/un.h>

#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

TEST(Passthrough, UnixSocketBindIsUntouched) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s/test-%d.sock", runtime_root().c_str(), ::getpid());
  errno = 4242;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  EXPECT_EQ(errno, 4242);
  EXPECT_TRUE(table().list().empty());
  ::close(fd);
  ::unlink(addr.sun_path);
}

TEST(Passthrough, RawSocketBindIsUntouched) {
  const int fd = ::socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (fd < 0) GTEST_SKIP() << "raw sockets not permitted here: " << std::strerror(errno);
  sockaddr_in addr = loopback(0);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  EXPECT_TRUE(table().list().empty());
  ::close(fd);
}

TEST(Passthrough, BindAddressNoPortLeavesThePortToConnect) {
  const int fd = make_socket();
  const int on = 1;
  ASSERT_EQ(::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on), 0);
  ASSERT_EQ(bind_port(fd, 0), 0);
  EXPECT_EQ(local_port(fd), 0) << "IP_BIND_ADDRESS_NO_PORT defers the port to connect()";
  EXPECT_TRUE(table().list().empty());
  ::close(fd);
}

TEST(Passthrough, PortOutsideTheRangeIsBoundAsGivenWithoutAClaim) {
  const int fd = make_socket();
  ASSERT_EQ(bind_port(fd, 7777), 0);
  EXPECT_EQ(local_port(fd), 7777);
  EXPECT_TRUE(table().list().empty());
  ::close(fd);
}

TEST(Passthrough, OutsiderHoldingAnOutOfRangePortStillFailsAsTheKernelSays) {
  const int outsider = make_socket();
  ASSERT_EQ(bare_bind(outsider, 7778), 0);
  const int fd = make_socket();
  errno = 0;
  EXPECT_EQ(bind_port(fd, 7778), -1);
  EXPECT_EQ(errno, EADDRINUSE);
  ::close(fd);
  ::close(outsider);
}

TEST(Passthrough, ConnectsAutomaticPortIsTheKernels) {
  const int server = make_socket();
  ASSERT_EQ(bind_port(server, 7779), 0);
  ASSERT_EQ(::listen(server, 1), 0);
  const int client = make_socket();
  const sockaddr_in addr = loopback(7779);
  ASSERT_EQ(::connect(client, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_FALSE(in_test_range(local_port(client)));
  EXPECT_TRUE(table().list().empty());
  ::close(client);
  ::close(server);
}

}  // namespace
}  // namespace portsafe::shim_test
