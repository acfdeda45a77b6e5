// A port picked and closed without real use lingers for the job (its number may have been handed
// on); a port that served a connection, made one, or carried a datagram is free again once
// closed. (Bound and listened on without a connection lingers: listen_probe_lingers_test.cpp.)
#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

TEST(ClaimLifecycle, PickedAndClosedPortLingersForTheJob) {
  const auto [fd, port] = bind_zero();
  const int64_t before = monotonic_ms();
  ASSERT_EQ(::close(fd), 0);
  const SlotView view = slot(Protocol::tcp, port);
  EXPECT_EQ(view.state, SlotState::linger);
  EXPECT_EQ(pack_identity(view.owner), own_job_id()) << "the job leader owns a lingering port";
  EXPECT_GE(view.deadline_ms, before + 60'000 - 1000) << "PORTSAFE_LINGER=60";
}

TEST(ClaimLifecycle, PortThatServedAConnectionIsFreeAfterClose) {
  const auto [fd, port] = bind_zero();
  ASSERT_TRUE(serve_one_connection(fd)) << std::strerror(errno);
  EXPECT_NE(slot(Protocol::tcp, port).flags & kSlotUsed, 0u);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::free);
}

TEST(ClaimLifecycle, ConnectedUdpPortIsFreeAfterClose) {
  const auto [fd, port] = bind_zero(SOCK_DGRAM);
  const sockaddr_in peer = loopback(9);
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&peer), sizeof peer), 0);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(slot(Protocol::udp, port).state, SlotState::free);
}

TEST(ClaimLifecycle, ConnectedTcpClientPortIsFreeAfterClose) {
  const int server = make_socket();
  ASSERT_EQ(bind_port(server, 7790), 0);
  ASSERT_EQ(::listen(server, 1), 0);
  const auto [fd, port] = bind_zero();
  const sockaddr_in addr = loopback(7790);
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::free);
  ::close(server);
}

TEST(ClaimLifecycle, GivenPortIsClaimedAndFreedAfterUse) {
  const uint16_t port = kRangeLow + 17;
  const int fd = make_socket();
  ASSERT_EQ(bind_port(fd, port), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::bound);
  ASSERT_TRUE(serve_one_connection(fd)) << std::strerror(errno);
  ::close(fd);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::free);
}

}  // namespace
}  // namespace portsafe::shim_test
