// Port-0 picks under pressure (issue 13): round robin through the range, and a range full of
// lingers gives its oldest ones to new picks instead of falling back to the kernel; never a held
// port, never a bound one; a linger younger than kMinLingerAgeMs only when nothing older is left.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <set>

#include "table_fixture.hpp"

namespace portsafe::testing {
namespace {

constexpr uint16_t kLow = 20000;  // small_spec(): 20000-20015

class TablePickTest : public TableTest {
 protected:
  // Another job, led by a process that lives as long as the test (pid 1).
  Claimant other_job() const { return me(pack_identity(*read_process_identity(1))); }
  // Claims `port` for `who` and closes it unused `age_ms` ago: a linger that old.
  void linger(uint16_t port, const Claimant& who, int64_t age_ms) {
    const PortClaim claim = table_->claim_port(Protocol::tcp, port, who);
    ASSERT_EQ(claim.result, ClaimResult::claimed) << port;
    ASSERT_TRUE(table_->release(claim.ref, who.process, monotonic_ms() - age_ms));
  }
  uint16_t port_of(const SlotRef& ref) const { return static_cast<uint16_t>(kLow + ref.index % 16); }
};

TEST_F(TablePickTest, PicksGoRoundRobinThroughTheRange) {
  // Each pick is used and closed at once (its port is free again), yet the next pick takes the
  // next port: the port picked least recently comes first.
  std::set<uint16_t> seen;
  for (int i = 0; i < 16; ++i) {
    const PickResult picked = table_->pick(Protocol::tcp, table_->range(), me());
    ASSERT_TRUE(picked.ref.valid());
    seen.insert(port_of(picked.ref));
    table_->mark_used(picked.ref);
    ASSERT_TRUE(table_->release(picked.ref, read_own_identity(), monotonic_ms()));
  }
  EXPECT_EQ(seen.size(), 16u);
}

TEST_F(TablePickTest, ARangeFullOfOldLingersGivesTheOldestAwayNotAFallback) {
  for (uint16_t p = kLow; p < kLow + 16; ++p) linger(p, me(), 5'000);
  const PickResult picked = table_->pick(Protocol::tcp, table_->range(), me());
  ASSERT_TRUE(picked.ref.valid());
  EXPECT_TRUE(picked.gave_way);
  EXPECT_EQ(table_->view(Protocol::tcp, port_of(picked.ref))->state, SlotState::bound);
  EXPECT_EQ(table_->counters().lingers_given_way, 1u);
}

TEST_F(TablePickTest, TheJobsOwnLingersGiveWayBeforeOtherJobs) {
  const Claimant other = other_job();
  for (uint16_t p = kLow; p < kLow + 16; ++p) linger(p, p == kLow + 11 ? me() : other, 5'000);
  const PickResult picked = table_->pick(Protocol::tcp, table_->range(), me());
  ASSERT_TRUE(picked.ref.valid());
  EXPECT_EQ(port_of(picked.ref), kLow + 11);
  // With none of its own left, another job's old linger goes.
  const PickResult next = table_->pick(Protocol::tcp, table_->range(), me());
  ASSERT_TRUE(next.ref.valid());
  EXPECT_TRUE(next.gave_way);
}

TEST_F(TablePickTest, AYoungLingerStaysWhileAnOlderOneIsLeft) {
  for (uint16_t p = kLow; p < kLow + 16; ++p) linger(p, me(), p == kLow + 9 ? 3'000 : 100);
  const PickResult picked = table_->pick(Protocol::tcp, table_->range(), me());
  ASSERT_TRUE(picked.ref.valid());
  EXPECT_EQ(port_of(picked.ref), kLow + 9);
  EXPECT_EQ(table_->counters().young_lingers_given_way, 0u);
}

TEST_F(TablePickTest, OnlyYoungLingersLeftTheOldestOfThemGivesWay) {
  for (uint16_t p = kLow; p < kLow + 16; ++p) linger(p, me(), p == kLow + 4 ? 900 : 200);
  const PickResult picked = table_->pick(Protocol::tcp, table_->range(), me());
  ASSERT_TRUE(picked.ref.valid());
  EXPECT_EQ(port_of(picked.ref), kLow + 4);
  EXPECT_EQ(table_->counters().young_lingers_given_way, 1u);
}

TEST_F(TablePickTest, AmongYoungLingersAnotherJobsNumberStaysLongest) {
  // Another job's number handed on a moment ago outlives the picker's own younger lingers.
  for (uint16_t p = kLow; p < kLow + 16; ++p) linger(p, p == kLow + 2 ? other_job() : me(), p == kLow + 2 ? 800 : 100);
  const PickResult picked = table_->pick(Protocol::tcp, table_->range(), me());
  ASSERT_TRUE(picked.ref.valid());
  EXPECT_NE(port_of(picked.ref), kLow + 2);
  EXPECT_EQ(table_->view(Protocol::tcp, kLow + 2)->state, SlotState::linger);
}

TEST_F(TablePickTest, ALingerThatBeganAfterThePickBeganNeverGivesWay) {
  // A scan lagging behind another picker's meets lingers that began after the scan did. Made
  // here by writing, through a second mapping of the segment, a later place in the table's order
  // of lingers (TableHeader::lingers_made) into every slot.
  for (uint16_t p = kLow; p < kLow + 16; ++p) linger(p, other_job(), 5'000);
  const int fd = ::open(PortTable::shm_path(spec_.name).c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  const size_t size = kHeaderBytes + table_->slot_count() * sizeof(Slot);
  void* mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(mapped, MAP_FAILED);
  auto* header = static_cast<TableHeader*>(mapped);
  auto* slots = reinterpret_cast<Slot*>(static_cast<char*>(mapped) + kHeaderBytes);
  const auto later = static_cast<uint32_t>(header->lingers_made.load() + 3);
  for (uint32_t i = 0; i < 16; ++i) slots[i].linger_seq.store(later);
  const PickResult picked = table_->pick(Protocol::tcp, table_->range(), me());
  EXPECT_FALSE(picked.ref.valid());
  EXPECT_EQ(picked.unavailable, 16u);
  // Once they are older than the pick, the oldest gives way as usual.
  header->lingers_made.store(later + 1);
  EXPECT_TRUE(table_->pick(Protocol::tcp, table_->range(), me()).ref.valid());
  ::munmap(mapped, size);
}

TEST_F(TablePickTest, HeldAndBoundPortsNeverGiveWay) {
  Claimant supervisor = me();
  supervisor.job_id = pack_identity(*read_process_identity(1));
  for (uint16_t p = kLow; p < kLow + 16; ++p) {
    const PortClaim claim = table_->claim_port(Protocol::tcp, p, p % 2 == 0 ? me() : supervisor,
                                               p % 2 == 0 ? SlotState::bound : SlotState::held);
    ASSERT_EQ(claim.result, ClaimResult::claimed);
  }
  const PickResult picked = table_->pick(Protocol::tcp, table_->range(), me());
  EXPECT_FALSE(picked.ref.valid());
  EXPECT_EQ(picked.unavailable, 16u);  // every port has a live socket or a hold: fall back
}

TEST_F(TablePickTest, AFreePortIsTakenBeforeAnyLinger) {
  for (uint16_t p = kLow; p < kLow + 16; ++p) {
    if (p != kLow + 13) linger(p, me(), 5'000);
  }
  const PickResult picked = table_->pick(Protocol::tcp, table_->range(), me());
  ASSERT_TRUE(picked.ref.valid());
  EXPECT_EQ(port_of(picked.ref), kLow + 13);
  EXPECT_FALSE(picked.gave_way);
}

TEST_F(TablePickTest, AClaimIsCountedForTheSupervisorsWatch) {
  const uint64_t before = table_->claims_made();
  ASSERT_TRUE(table_->pick(Protocol::tcp, table_->range(), me()).ref.valid());
  ASSERT_EQ(table_->claim_port(Protocol::tcp, kLow + 15, me()).result, ClaimResult::claimed);
  EXPECT_EQ(table_->claims_made(), before + 2);
}

}  // namespace
}  // namespace portsafe::testing
