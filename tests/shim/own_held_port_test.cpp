// A port the supervisor holds for this job (a bound, non-listening SO_REUSEADDR placeholder)
// can be bound by any program of the job: the shim sets SO_REUSEADDR on the program's socket.
#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

constexpr uint16_t kHeldPort = kRangeLow + 20;

// The supervisor's side: the slot held for our job, and a placeholder bound with SO_REUSEADDR
// by the bare kernel (portsafed runs without the shim).
class OwnHeldPort : public ::testing::Test {
 protected:
  void SetUp() override {
    const PortClaim claim = table().claim_port(Protocol::tcp, kHeldPort, supervisor_.claimant(own_job_id(), "job"),
                                               SlotState::held);
    ASSERT_EQ(claim.result, ClaimResult::claimed);
    ref_ = claim.ref;
    placeholder_ = make_socket();
    const int on = 1;
    ASSERT_EQ(::setsockopt(placeholder_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on), 0);
    ASSERT_EQ(bare_bind(placeholder_, kHeldPort), 0);
  }
  void TearDown() override {
    ::close(placeholder_);
    table().drop(ref_, supervisor_.identity());
  }
  OtherProcess supervisor_;
  SlotRef ref_;
  int placeholder_ = -1;
};

TEST_F(OwnHeldPort, ProgramWithoutReuseAddressBindsAndListens) {
  const int fd = make_socket();
  ASSERT_EQ(bare_bind(fd, kHeldPort), -1) << "without the shim the placeholder blocks a plain bind";
  ASSERT_EQ(errno, EADDRINUSE);
  ::close(fd);

  const int program = make_socket();
  ASSERT_EQ(bind_port(program, kHeldPort), 0) << std::strerror(errno);
  ASSERT_EQ(::listen(program, 1), 0);
  EXPECT_EQ(reuse_address(program), 1);
  ::close(program);
  // The slot stays the supervisor's: the program's close does not release it.
  const SlotView view = slot(Protocol::tcp, kHeldPort);
  EXPECT_EQ(view.state, SlotState::held);
  EXPECT_EQ(view.owner, supervisor_.identity());
}

TEST_F(OwnHeldPort, AnotherJobsHeldPortIsNotOurs) {
  OtherProcess stranger;
  const Claimant other = stranger.claimant(0, "stranger");
  const PortClaim claim = table().claim_port(Protocol::tcp, kHeldPort + 1, other, SlotState::held);
  ASSERT_EQ(claim.result, ClaimResult::claimed);
  const int program = make_socket();
  errno = 0;
  EXPECT_EQ(bind_port(program, kHeldPort + 1), -1);
  EXPECT_EQ(errno, EADDRINUSE);
  EXPECT_EQ(reuse_address(program), 0) << "SO_REUSEADDR is set only for the job's own held ports";
  ::close(program);
  table().drop(claim.ref, stranger.identity());
}

}  // namespace
}  // namespace portsafe::shim_test
