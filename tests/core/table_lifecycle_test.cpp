// The lifecycle the shim and supervisor rely on: linger after pick-and-close, free after real
// use, the job's own linger taken over, and what a dead owner leaves behind.
#include <sys/wait.h>

#include "table_fixture.hpp"

namespace portsafe::testing {
namespace {

// Runs fn in a child process that exits right after; returns once the child is reaped.
template <typename Fn>
void in_child(Fn fn) {
  const pid_t child = fork();
  if (child == 0) {
    fn();
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(TableTest, UnusedPortLingersForTheJobAfterRelease) {
  const int64_t now = monotonic_ms();
  const SlotRef ref = table_->claim_any(Protocol::tcp, table_->range(), 0, me());
  ASSERT_TRUE(table_->release(ref, read_own_identity(), now));
  const auto view = table_->view(Protocol::tcp, 20000);
  EXPECT_EQ(view->state, SlotState::linger);
  EXPECT_EQ(view->deadline_ms, now + 60'000);
  // A pick never returns a lingering port, not even to its own job.
  const SlotRef next = table_->claim_any(Protocol::tcp, table_->range(), 0, me());
  EXPECT_EQ(next.index, 1u);
}

TEST_F(TableTest, UsedPortIsFreeAfterRelease) {
  const SlotRef ref = table_->claim_any(Protocol::tcp, table_->range(), 0, me());
  table_->mark_used(ref);
  ASSERT_TRUE(table_->release(ref, read_own_identity(), monotonic_ms()));
  EXPECT_EQ(table_->view(Protocol::tcp, 20000)->state, SlotState::free);
}

TEST_F(TableTest, SameJobTakesOverItsLingeringPort) {
  const SlotRef ref = table_->claim_any(Protocol::tcp, table_->range(), 0, me());
  ASSERT_TRUE(table_->release(ref, read_own_identity(), monotonic_ms()));
  const PortClaim again = table_->claim_port(Protocol::tcp, 20000, me());
  EXPECT_EQ(again.result, ClaimResult::claimed);
  EXPECT_EQ(table_->view(Protocol::tcp, 20000)->state, SlotState::bound);
}

TEST_F(TableTest, OtherJobCannotTakeALingeringPort) {
  const SlotRef ref = table_->claim_any(Protocol::tcp, table_->range(), 0, me());
  ASSERT_TRUE(table_->release(ref, read_own_identity(), monotonic_ms()));
  const PortClaim theft = table_->claim_port(Protocol::tcp, 20000, me(pack_identity(*read_process_identity(1))));
  EXPECT_EQ(theft.result, ClaimResult::other_job);
}

TEST_F(TableTest, ExpiredLingerIsReclaimed) {
  const SlotRef ref = table_->claim_any(Protocol::tcp, table_->range(), 0, me());
  ASSERT_TRUE(table_->release(ref, read_own_identity(), monotonic_ms() - 120'000));
  EXPECT_EQ(table_->reap(monotonic_ms()), 1u);
  EXPECT_EQ(table_->view(Protocol::tcp, 20000)->state, SlotState::free);
}

TEST_F(TableTest, LingerEndsWithItsJob) {
  // A job led by a child that has exited: its lingering port is free at once.
  ProcessIdentity leader{};
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[1]);
    char c;
    (void)!read(pipe_fds[0], &c, 1);
    _exit(0);
  }
  close(pipe_fds[0]);
  leader = *read_process_identity(child);
  const SlotRef ref = table_->claim_any(Protocol::tcp, table_->range(), 0, me(pack_identity(leader)));
  ASSERT_TRUE(table_->release(ref, read_own_identity(), monotonic_ms()));
  EXPECT_EQ(table_->reap(monotonic_ms()), 0u);  // the job still runs
  close(pipe_fds[1]);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(table_->reap(monotonic_ms()), 1u);
  EXPECT_EQ(table_->view(Protocol::tcp, 20000)->state, SlotState::free);
}

TEST_F(TableTest, DeadBinderWithoutUseLeavesTheNumberLingering) {
  // "PORT=$(python3 -c 'bind 0; print port')": the picker exits without closing.
  const Claimant job = me();
  in_child([&] {
    Claimant child = job;
    child.process = read_own_identity();
    if (!table_->claim_any(Protocol::tcp, table_->range(), 0, child).valid()) _exit(1);
  });
  EXPECT_EQ(table_->view(Protocol::tcp, 20000)->state, SlotState::bound);
  EXPECT_EQ(table_->reap(monotonic_ms()), 1u);
  const auto view = table_->view(Protocol::tcp, 20000);
  EXPECT_EQ(view->state, SlotState::linger);
  EXPECT_EQ(view->owner, unpack_identity(job.job_id));
}

TEST_F(TableTest, DeadBinderAfterUseLeavesThePortFree) {
  const Claimant job = me();
  in_child([&] {
    Claimant child = job;
    child.process = read_own_identity();
    const SlotRef ref = table_->claim_any(Protocol::tcp, table_->range(), 0, child);
    table_->mark_used(ref);
  });
  EXPECT_EQ(table_->reap(monotonic_ms()), 1u);
  EXPECT_EQ(table_->view(Protocol::tcp, 20000)->state, SlotState::free);
}

TEST_F(TableTest, DeadOwnerSlotIsReclaimedByAClaim) {
  // Another job's process died holding a port: claiming that port reaps it on the way.
  in_child([&] {
    Claimant other;
    other.process = read_own_identity();
    other.job_id = pack_identity(other.process);
    table_->claim_port(Protocol::tcp, 20009, other);
    table_->mark_used(table_->ref_of(Protocol::tcp, 20009));
  });
  EXPECT_EQ(table_->claim_port(Protocol::tcp, 20009, me()).result, ClaimResult::claimed);
}

TEST_F(TableTest, HeldPortsOfADeadSupervisorAreReaped) {
  in_child([&] {
    Claimant supervisor;
    supervisor.process = read_own_identity();
    supervisor.job_id = 42;
    table_->claim_any(Protocol::udp, table_->range(), 3, supervisor, SlotState::held);
  });
  const SlotRef live = table_->claim_any(Protocol::udp, table_->range(), 4, me(), SlotState::held);
  ASSERT_TRUE(live.valid());
  EXPECT_EQ(table_->reap(monotonic_ms()), 1u);
  EXPECT_EQ(table_->view(Protocol::udp, 20003)->state, SlotState::free);
  EXPECT_EQ(table_->view(Protocol::udp, 20004)->state, SlotState::held);
}

TEST_F(TableTest, ForkChildCannotReleaseItsParentsClaim) {
  const SlotRef ref = table_->claim_any(Protocol::tcp, table_->range(), 0, me());
  in_child([&] {
    if (table_->release(ref, read_own_identity(), monotonic_ms())) _exit(1);
  });
  EXPECT_EQ(table_->view(Protocol::tcp, 20000)->state, SlotState::bound);
}

}  // namespace
}  // namespace portsafe::testing
