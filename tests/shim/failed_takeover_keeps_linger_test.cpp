// Defect 2: a process of the job takes over its own lingering port and the real bind() fails
// (an outsider holds the port, the socket is bound already, the address is not local). The
// linger must come back exactly as it was, same owner and same deadline: the number may still be
// on its way to its real user, and a failed attempt hands nothing on, so it earns no fresh time.
#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

// A port picked and closed unused: it lingers for this job.
uint16_t lingering_port() {
  const auto [fd, port] = bind_zero();
  EXPECT_EQ(::close(fd), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::linger);
  return port;
}

void expect_linger_unchanged(uint16_t port, const SlotView& before) {
  const SlotView after = slot(Protocol::tcp, port);
  EXPECT_EQ(after.state, SlotState::linger) << "the failed takeover lost the job's linger";
  EXPECT_EQ(after.owner, before.owner);
  EXPECT_EQ(after.job_id, before.job_id);
  EXPECT_EQ(after.deadline_ms, before.deadline_ms) << "the linger keeps its own deadline";
  EXPECT_EQ(after.pid, before.pid);
  EXPECT_STREQ(after.job_name, before.job_name);
  // And it still protects the number: another job is refused it.
  OtherProcess other;
  EXPECT_EQ(table().claim_port(Protocol::tcp, port, other.claimant()).result, ClaimResult::other_job);
}

TEST(FailedTakeover, OutsiderHoldingThePortKeepsTheLinger) {
  const uint16_t port = lingering_port();
  const SlotView before = slot(Protocol::tcp, port);
  const int outsider = make_socket();
  ASSERT_EQ(bare_bind(outsider, port), 0) << "a program without portsafe took the port";
  const int fd = make_socket();
  errno = 0;
  EXPECT_EQ(bind_port(fd, port), -1);
  EXPECT_EQ(errno, EADDRINUSE) << "the kernel's errno is the program's";
  expect_linger_unchanged(port, before);
  ::close(fd);
  ::close(outsider);
}

TEST(FailedTakeover, SocketBoundAlreadyKeepsTheLinger) {
  const uint16_t port = lingering_port();
  const SlotView before = slot(Protocol::tcp, port);
  const auto [fd, first_port] = bind_zero();
  errno = 0;
  EXPECT_EQ(bind_port(fd, port), -1);
  EXPECT_EQ(errno, EINVAL);
  expect_linger_unchanged(port, before);
  EXPECT_EQ(slot(Protocol::tcp, first_port).state, SlotState::bound) << "the socket's own claim is untouched";
  ::close(fd);
}

TEST(FailedTakeover, NonLocalAddressKeepsTheLinger) {
  const uint16_t port = lingering_port();
  const SlotView before = slot(Protocol::tcp, port);
  const int fd = make_socket();
  sockaddr_in addr = loopback(port);
  addr.sin_addr.s_addr = htonl(0xC0000201);  // 192.0.2.1 (TEST-NET-1): no interface has it
  errno = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), -1);
  EXPECT_EQ(errno, EADDRNOTAVAIL);
  expect_linger_unchanged(port, before);
  ::close(fd);
}

TEST(FailedTakeover, TheJobCanStillTakeThePortAfterwards) {
  const uint16_t port = lingering_port();
  const int outsider = make_socket();
  ASSERT_EQ(bare_bind(outsider, port), 0);
  const int failed = make_socket();
  ASSERT_EQ(bind_port(failed, port), -1);
  ::close(failed);
  ::close(outsider);
  const int fd = make_socket();
  EXPECT_EQ(bind_port(fd, port), 0) << std::strerror(errno);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::bound);
  ::close(fd);
}

TEST(FailedTakeover, FailedBindOfAFreePortStillLeavesItFree) {
  // Not a takeover: nothing lingered, so nothing is given back but the free slot.
  const uint16_t port = kRangeLow + 21;
  ASSERT_EQ(slot(Protocol::tcp, port).state, SlotState::free);
  const int outsider = make_socket();
  ASSERT_EQ(bare_bind(outsider, port), 0);
  const int fd = make_socket();
  EXPECT_EQ(bind_port(fd, port), -1);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::free);
  ::close(fd);
  ::close(outsider);
}

}  // namespace
}  // namespace portsafe::shim_test
