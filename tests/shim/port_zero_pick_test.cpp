// bind(port 0) on TCP and UDP, IPv4 and IPv6, gets a port from the job's range, claimed in the
// table by this process for this job.
#include <set>

#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

TEST(PortZeroPick, TcpIpv4PortComesFromTheRangeAndIsClaimed) {
  const auto [fd, port] = bind_zero(SOCK_STREAM);
  EXPECT_TRUE(in_test_range(port)) << port;
  const SlotView view = slot(Protocol::tcp, port);
  EXPECT_EQ(view.state, SlotState::bound);
  EXPECT_EQ(view.pid, static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(view.job_id, own_job_id());
  ::close(fd);
}

TEST(PortZeroPick, UdpPortComesFromTheUdpTable) {
  const auto [fd, port] = bind_zero(SOCK_DGRAM);
  EXPECT_TRUE(in_test_range(port)) << port;
  EXPECT_EQ(slot(Protocol::udp, port).state, SlotState::bound);
  ::close(fd);
}

TEST(PortZeroPick, Ipv6AndDualStackShareTheTcpPortSpace) {
  const int fd = make_socket(SOCK_STREAM, AF_INET6);
  const int off = 0;
  ASSERT_EQ(::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off), 0);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_any;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  const uint16_t port = local_port(fd);
  EXPECT_TRUE(in_test_range(port)) << port;
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::bound);
  ::close(fd);
}

TEST(PortZeroPick, SuccessivePicksNeverShareAPort) {
  std::vector<int> fds;
  std::set<uint16_t> ports;
  for (int i = 0; i < 8; ++i) {
    const auto [fd, port] = bind_zero(SOCK_STREAM);
    fds.push_back(fd);
    EXPECT_TRUE(in_test_range(port));
    EXPECT_TRUE(ports.insert(port).second) << "port " << port << " handed out twice";
  }
  for (const int fd : fds) ::close(fd);
}

TEST(PortZeroPick, PortHeldByAnOutsiderIsSkipped) {
  // A program without the shim holds every port of the range but one: the pick must land on it.
  std::vector<int> outsiders;
  const uint16_t free_port = kRangeLow + 7;
  for (uint16_t port = kRangeLow; port <= kRangeHigh; ++port) {
    if (port == free_port) continue;
    const int fd = make_socket();
    ASSERT_EQ(bare_bind(fd, port), 0) << port;
    outsiders.push_back(fd);
  }
  const auto [fd, port] = bind_zero(SOCK_STREAM);
  EXPECT_EQ(port, free_port);
  for (uint16_t p = kRangeLow; p <= kRangeHigh; ++p) {
    const SlotState state = slot(Protocol::tcp, p).state;
    EXPECT_EQ(state, p == free_port ? SlotState::bound : SlotState::free) << "port " << p;
  }
  ::close(fd);
  for (const int outsider : outsiders) ::close(outsider);
}

TEST(PortZeroPick, ReuseAddressIsRestoredAfterThePick) {
  const int fd = make_socket();
  const int on = 1;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on), 0);
  ASSERT_EQ(bind_port(fd, 0), 0);
  EXPECT_EQ(reuse_address(fd), 1);
  EXPECT_TRUE(in_test_range(local_port(fd)));
  ::close(fd);
}

TEST(PortZeroPick, PickDoesNotShareWithAnOutsidersReuseSocket) {
  // Outsiders hold every port but one with SO_REUSEADDR (bound, not listening): a program's
  // SO_REUSEADDR bind could share such a port, so the pick must clear it and take the free one.
  std::vector<int> outsiders;
  const uint16_t free_port = kRangeHigh;
  const int on = 1;
  for (uint16_t port = kRangeLow; port < kRangeHigh; ++port) {
    const int fd = make_socket();
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    ASSERT_EQ(bare_bind(fd, port), 0);
    outsiders.push_back(fd);
  }
  const int fd = make_socket();
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  ASSERT_EQ(bind_port(fd, 0), 0);
  EXPECT_EQ(local_port(fd), free_port);
  ::close(fd);
  for (const int outsider : outsiders) ::close(outsider);
}

}  // namespace
}  // namespace portsafe::shim_test
