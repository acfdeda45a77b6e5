// A hold handed to a launcher's new connection after a supervisor restart outlives that
// connection while the job runs (a failed reconnect attempt must not free it); a plain hold does not.
#include "keeper_fixture.hpp"

namespace portsafe::supervisor {
namespace {

TEST_F(PortKeeperRehold, AnAdoptedHoldOutlivesTheConnectionThatTookItOver) {
  leave_dead_supervisors_hold(Protocol::tcp, kLow + 1);
  PortKeeper keeper(*table_, read_own_identity());
  ASSERT_EQ(keeper.adopt_orphans(), 1u);
  const auto again = keeper.reserve(7, job(), {{"web", Protocol::tcp, kLow + 1}}, true);
  ASSERT_FALSE(again.error) << again.error->message;
  // The launcher's attempt fails after the hand-over (say, its request timed out): the job still
  // runs, so the hold waits for its next attempt rather than being freed.
  keeper.release_connection(7);
  EXPECT_EQ(keeper.size(), 1u);
  EXPECT_EQ(state_of(Protocol::tcp, kLow + 1), SlotState::held);
  const auto next = keeper.reserve(8, job(), {{"web", Protocol::tcp, kLow + 1}}, true);
  EXPECT_FALSE(next.error) << next.error->message;
}

TEST_F(PortKeeperRehold, AReheldPortOutlivesTheConnectionThatReheldIt) {
  PortKeeper keeper(*table_, read_own_identity());
  const auto again = keeper.reserve(7, job(), {{"dns", Protocol::udp, kLow + 2}}, true);
  ASSERT_FALSE(again.error) << again.error->message;
  keeper.release_connection(7);
  EXPECT_EQ(keeper.size(), 1u);
  EXPECT_EQ(state_of(Protocol::udp, kLow + 2), SlotState::held);
}

TEST_F(PortKeeperRehold, APlainHoldGoesWithItsConnection) {
  PortKeeper keeper(*table_, read_own_identity());
  ASSERT_FALSE(keeper.reserve(7, job(), {{"web", Protocol::tcp, kLow + 3}}).error);
  EXPECT_EQ(keeper.release_connection(7), 1u);
  EXPECT_EQ(state_of(Protocol::tcp, kLow + 3), SlotState::free);
}

}  // namespace
}  // namespace portsafe::supervisor
