// A port another live job claims is refused with EADDRINUSE before the kernel is asked; at
// PORTSAFE_LOG=info the refusal names that job and its pid (see table_failure_test for logs).
#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

TEST(OtherJobRefusal, PortBoundByAnotherJobIsRefused) {
  OtherProcess other;
  const uint16_t port = kRangeLow + 11;
  const PortClaim claim = table().claim_port(Protocol::tcp, port, other.claimant());
  ASSERT_EQ(claim.result, ClaimResult::claimed);
  const int fd = make_socket();
  errno = 0;
  EXPECT_EQ(bind_port(fd, port), -1);
  EXPECT_EQ(errno, EADDRINUSE);
  EXPECT_EQ(local_port(fd), 0) << "the kernel was never asked";
  ::close(fd);
  table().drop(claim.ref, other.identity());
}

TEST(OtherJobRefusal, AnotherJobsLingeringPortIsRefusedAndNeverPicked) {
  OtherProcess other;
  const uint16_t port = kRangeLow + 12;
  PortClaim claim = table().claim_port(Protocol::tcp, port, other.claimant());
  ASSERT_EQ(claim.result, ClaimResult::claimed);
  ASSERT_TRUE(table().release(claim.ref, other.identity(), monotonic_ms()));
  ASSERT_EQ(slot(Protocol::tcp, port).state, SlotState::linger);

  const int fd = make_socket();
  errno = 0;
  EXPECT_EQ(bind_port(fd, port), -1);
  EXPECT_EQ(errno, EADDRINUSE);
  ::close(fd);
  std::vector<int> fds;
  for (uint16_t i = kRangeLow; i < kRangeHigh; ++i) {
    const auto [picked, picked_port] = bind_zero();
    EXPECT_NE(picked_port, port);
    fds.push_back(picked);
  }
  for (const int picked : fds) ::close(picked);
}

TEST(OtherJobRefusal, ADeadJobsClaimIsReclaimed) {
  uint16_t port = kRangeLow + 13;
  {
    OtherProcess other;
    ASSERT_EQ(table().claim_port(Protocol::tcp, port, other.claimant()).result, ClaimResult::claimed);
  }  // killed and reaped: its claim is stale
  const int fd = make_socket();
  EXPECT_EQ(bind_port(fd, port), 0) << std::strerror(errno);
  EXPECT_EQ(slot(Protocol::tcp, port).pid, static_cast<uint32_t>(::getpid()));
  ::close(fd);
}

TEST(OtherJobRefusal, OwnJobsLingeringPortIsTakenOver) {
  // The idiom the shim exists for: bind 0, read the number, close, bind that number again.
  const auto [fd, port] = bind_zero();
  ::close(fd);
  ASSERT_EQ(slot(Protocol::tcp, port).state, SlotState::linger);
  const int again = make_socket();
  ASSERT_EQ(bind_port(again, port), 0) << std::strerror(errno);
  ASSERT_TRUE(serve_one_connection(again)) << std::strerror(errno);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::bound);
  ::close(again);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::free);
}

}  // namespace
}  // namespace portsafe::shim_test
