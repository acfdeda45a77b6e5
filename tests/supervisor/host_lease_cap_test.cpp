// Issue 16: the host daemon leases one block per request to the account that asks (its table
// checked), up to half of the blocks, always (alone or not: a block comes back only after 5 s
// idle, so a later account must find some free); a table that is not the caller's gets nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "host_fixture.hpp"

namespace portsafe::host::testing {
namespace {

class LeaseCap : public HostTest {};

TEST_F(LeaseCap, AnAccountAloneGetsHalfTheBlocksAndALaterAccountStillGetsBlocks) {
  PortTable& mine = make_table(0);
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  for (uint32_t i = 0; i < 2; ++i) {
    const LeaseDecision d = book.lease(0, mine.name(), now);
    ASSERT_TRUE(d.granted) << d.message;
    EXPECT_EQ(open_view()->block(d.block).uid, 0u);
  }
  // Alone, and still capped: nothing takes a block back for 5 s, so a later account needs them now.
  const LeaseDecision third = book.lease(0, mine.name(), now);
  EXPECT_FALSE(third.granted) << "half of 4 blocks is 2, even for an account alone";
  EXPECT_EQ(third.code, wire::ErrorCode::lease_refused);
  EXPECT_NE(third.message.find("half"), std::string::npos) << third.message;
  PortTable& theirs = make_table(kOtherUid);
  EXPECT_TRUE(book.lease(kOtherUid, theirs.name(), now).granted) << "a later account still gets blocks";
  EXPECT_TRUE(book.lease(kOtherUid, theirs.name(), now).granted);
  EXPECT_FALSE(book.lease(kOtherUid, theirs.name(), now).granted);
}

TEST_F(LeaseCap, WhileAnotherAccountHasBlocksEachGetsAtMostHalf) {
  PortTable& mine = make_table(0);
  PortTable& theirs = make_table(kOtherUid);
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  ASSERT_TRUE(book.lease(kOtherUid, theirs.name(), now).granted);
  EXPECT_TRUE(book.lease(0, mine.name(), now).granted);
  EXPECT_TRUE(book.lease(0, mine.name(), now).granted);
  const LeaseDecision third = book.lease(0, mine.name(), now);
  EXPECT_FALSE(third.granted) << "half of 4 blocks is 2";
  EXPECT_EQ(third.code, wire::ErrorCode::lease_refused);
  EXPECT_TRUE(book.lease(kOtherUid, theirs.name(), now).granted) << "the other account still gets its half";
  const std::vector<AccountBlocks> counts = open_view()->counts();
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].blocks, 2u);
  EXPECT_EQ(counts[1].blocks, 2u);
}

TEST_F(LeaseCap, ABurstOfOneAccountsTablesTakesAtMostHalf) {
  // Each process's first pick may make its own table and lease for it: the cap counts the uid.
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  uint32_t granted = 0;
  for (int i = 0; i < 4; ++i) granted += book.lease(0, make_table(0).name(), now).granted ? 1 : 0;
  EXPECT_EQ(granted, 2u);
  EXPECT_EQ(book.cap_for(0, now), 2u);
  EXPECT_EQ(open_view()->free_blocks(), 2u);
}

TEST_F(LeaseCap, ATableGetsNoMoreBlocksThanItsPicksCanSee) {
  constexpr PortRange kWide{30300, 31323};  // 1,024 blocks of one port: the cap (512) is above kMaxOwnBlocks
  writer_.reset();
  make_registry(kWide, 1);
  PortTable& mine = make_table(0, kWide);
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  for (uint32_t i = 0; i < kMaxOwnBlocks; ++i) ASSERT_TRUE(book.lease(0, mine.name(), now).granted) << i;
  const LeaseDecision beyond = book.lease(0, mine.name(), now);
  EXPECT_FALSE(beyond.granted) << "a pick sees at most kMaxOwnBlocks blocks of its table";
  EXPECT_NE(beyond.message.find("most"), std::string::npos) << beyond.message;
  EXPECT_TRUE(book.lease(0, make_table(0, kWide).name(), now).granted) << "another table of the uid, under the cap";
}

TEST_F(LeaseCap, ATableOfAnotherRangeGetsNoBlock) {
  PortTable& custom = make_table(0, PortRange{30300, 30331});  // a custom PORTSAFE_RANGE
  LeaseBook book(*writer_);
  const LeaseDecision d = book.lease(0, custom.name(), monotonic_ms());
  EXPECT_FALSE(d.granted) << "its picks never use the registry's blocks";
  EXPECT_EQ(d.code, wire::ErrorCode::not_permitted);
  EXPECT_NE(d.message.find("not the host range"), std::string::npos) << d.message;
  EXPECT_EQ(open_view()->free_blocks(), 4u);
}

TEST_F(LeaseCap, OnlyTheCallersPrivateTableGetsABlock) {
  PortTable& theirs = make_table(kOtherUid);
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  const LeaseDecision stolen = book.lease(0, theirs.name(), now);
  EXPECT_FALSE(stolen.granted) << "uid 0 named another uid's table";
  EXPECT_EQ(stolen.code, wire::ErrorCode::not_permitted);
  EXPECT_FALSE(book.lease(kOtherUid, "portsafe-0000000000000000", now).granted) << "no such table";
  EXPECT_FALSE(book.lease(kOtherUid, "../../dev/shm/x", now).granted);
  PortTable& open_to_all = make_table(kOtherUid);
  ASSERT_EQ(::chmod(PortTable::shm_path(open_to_all.name()).c_str(), 0666), 0);
  EXPECT_EQ(book.lease(kOtherUid, open_to_all.name(), now).code, wire::ErrorCode::not_permitted);
  EXPECT_EQ(open_view()->free_blocks(), 4u);
}

TEST_F(LeaseCap, AnIdleBlockIsReclaimedAfterFiveSecondsAndABusyOneKept) {
  PortTable& mine = make_table(0);
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  const LeaseDecision idle = book.lease(0, mine.name(), now);
  const LeaseDecision busy = book.lease(0, mine.name(), now);
  ASSERT_TRUE(idle.granted && busy.granted);
  const uint16_t port = open_view()->block_range(busy.block).low;
  ASSERT_EQ(mine.claim_port(Protocol::tcp, port, claimant()).result, ClaimResult::claimed);
  EXPECT_EQ(book.reclaim_idle(now + kReclaimIdleMs - 1), 0u) << "not idle long enough yet";
  EXPECT_EQ(book.reclaim_idle(now + kReclaimIdleMs), 1u);
  const auto view = open_view();
  EXPECT_EQ(view->block(idle.block).state, BlockState::free);
  EXPECT_EQ(view->block(busy.block).state, BlockState::leased);
  EXPECT_GT(view->block(idle.block).generation, idle.generation) << "a freed block's generation moved on";
}

TEST_F(LeaseCap, AGoneTablesBlocksAreReclaimedAtOnce) {
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  {
    PortTable& doomed = make_table(0);
    ASSERT_TRUE(book.lease(0, doomed.name(), now).granted);
    ASSERT_TRUE(PortTable::remove(doomed.name()));
  }
  EXPECT_EQ(book.reclaim_idle(now), 1u);
  EXPECT_EQ(open_view()->free_blocks(), 4u);
}

TEST_F(LeaseCap, ARefusedLeaseFirstReclaimsTheBlocksOfGoneTables) {
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  PortTable& gone = make_table(0);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(book.lease(0, gone.name(), now).granted);
  ASSERT_TRUE(PortTable::remove(gone.name()));
  PortTable& next = make_table(0);
  // No sweep ran in between: the refusal itself finds the gone table's blocks.
  const LeaseDecision d = book.lease(0, next.name(), now + 1);
  EXPECT_TRUE(d.granted) << d.message;
  EXPECT_EQ(open_view()->free_blocks(), 3u);
}

}  // namespace
}  // namespace portsafe::host::testing
