// Holding a job's ports again after its supervisor went away: a rehold names its ports, and a
// supervisor stopped by a signal leaves the holds of running jobs in the table for the next one.
#include "keeper_fixture.hpp"

namespace portsafe::supervisor {
namespace {

TEST_F(PortKeeperRehold, AReholdNeedsPortNumbers) {
  PortKeeper keeper(*table_, read_own_identity());
  const auto again = keeper.reserve(7, job(), {{"web", Protocol::tcp, 0}}, true);
  ASSERT_TRUE(again.error);
  EXPECT_EQ(again.error->code, wire::ErrorCode::bad_payload);
}

TEST_F(PortKeeperRehold, StoppingLeavesRunningJobsHoldsInTheTable) {
  PortKeeper keeper(*table_, read_own_identity());
  ASSERT_FALSE(keeper.reserve(7, job(), {{"web", Protocol::tcp, kLow + 4}}).error);
  const JobInfo ended{pack_identity(dead_process()), "over"};
  ASSERT_FALSE(keeper.reserve(8, ended, {{"web", Protocol::tcp, kLow + 5}}).error);
  EXPECT_EQ(keeper.leave_for_successor(), 1u);
  EXPECT_TRUE(keeper.empty());
  EXPECT_EQ(state_of(Protocol::tcp, kLow + 4), SlotState::held);  // the next supervisor's to adopt
  EXPECT_EQ(state_of(Protocol::tcp, kLow + 5), SlotState::free);
}

}  // namespace
}  // namespace portsafe::supervisor
