// Issue 16: the reclaim sweep reads an account's table only once a block's grace is over (5 s
// since it was leased or last seen in use; a gone table is told by one lstat), and each sweep
// reads at most kScansPerSweep blocks' tables, going on next time where it stopped: an account
// whose tables are slow to read cannot make every sweep slow for everyone.
#include <gtest/gtest.h>

#include "host_fixture.hpp"

namespace portsafe::host::testing {
namespace {

class SweepBounded : public HostTest {};

TEST_F(SweepBounded, InsideTheGraceNoTableIsRead) {
  PortTable& mine = make_table(0);
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  const LeaseDecision idle = book.lease(0, mine.name(), now);
  const LeaseDecision busy = book.lease(0, mine.name(), now);
  ASSERT_TRUE(idle.granted && busy.granted);
  ASSERT_EQ(mine.claim_port(Protocol::tcp, open_view()->block_range(busy.block).low, claimant()).result,
            ClaimResult::claimed);
  EXPECT_EQ(book.reclaim_idle(now + 1'000), 0u);
  EXPECT_EQ(book.scans_done(), 0u) << "both blocks are inside their 5 s grace";
  EXPECT_EQ(book.reclaim_idle(now + kReclaimIdleMs), 1u) << "the idle block goes once its grace is over";
  EXPECT_EQ(book.scans_done(), 2u);
  EXPECT_EQ(book.reclaim_idle(now + kReclaimIdleMs + 1'000), 0u);
  EXPECT_EQ(book.scans_done(), 2u) << "the block seen in use has a new grace: not read again for 5 s";
  EXPECT_EQ(book.reclaim_idle(now + 2 * kReclaimIdleMs), 0u);
  EXPECT_EQ(book.scans_done(), 3u);
}

TEST_F(SweepBounded, AGoneTableInsideTheGraceIsStillFreedAtOnce) {
  PortTable& doomed = make_table(0);
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  ASSERT_TRUE(book.lease(0, doomed.name(), now).granted);
  ASSERT_TRUE(PortTable::remove(doomed.name()));
  EXPECT_EQ(book.reclaim_idle(now + 1), 1u);
}

TEST_F(SweepBounded, EachSweepReadsAtMostItsBudgetAndTheNextGoesOn) {
  constexpr PortRange kWide{30300, 31323};  // 1,024 blocks of one port
  writer_.reset();
  make_registry(kWide, 1);
  PortTable& mine = make_table(0, kWide);
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  constexpr uint32_t kBusy = 150;
  for (uint32_t i = 0; i < kBusy; ++i) {
    const LeaseDecision d = book.lease(0, mine.name(), now);
    ASSERT_TRUE(d.granted) << d.message;
    ASSERT_EQ(mine.claim_port(Protocol::tcp, open_view()->block_range(d.block).low, claimant()).result,
              ClaimResult::claimed);
  }
  uint64_t before = 0;
  int sweeps = 0;
  while (book.scans_done() < kBusy && sweeps < 100) {
    EXPECT_EQ(book.reclaim_idle(now + kReclaimIdleMs), 0u);
    const uint64_t read = book.scans_done() - before;
    EXPECT_LE(read, kScansPerSweep) << "sweep " << sweeps;
    EXPECT_GT(read, 0u) << "a sweep goes on where the last one stopped";
    before = book.scans_done();
    ++sweeps;
  }
  EXPECT_EQ(book.scans_done(), kBusy) << "every busy block read once, none twice";
  EXPECT_GE(sweeps, 3) << "150 blocks at <= 64 a sweep";
}

}  // namespace
}  // namespace portsafe::host::testing
