// Claiming: any free port of a range, a given port, exclusivity between jobs.
#include <set>

#include "table_fixture.hpp"

namespace portsafe::testing {
namespace {

TEST_F(TableTest, ClaimAnyReturnsDistinctPortsUntilFull) {
  std::set<uint16_t> ports;
  for (int i = 0; i < 16; ++i) {
    const SlotRef ref = table_->claim_any(Protocol::tcp, table_->range(), 7, me());
    ASSERT_TRUE(ref.valid());
    const auto view = table_->view(Protocol::tcp, static_cast<uint16_t>(20000 + ref.index));
    ASSERT_TRUE(view);
    EXPECT_EQ(view->state, SlotState::bound);
    ports.insert(view->port);
  }
  EXPECT_EQ(ports.size(), 16u);
  EXPECT_FALSE(table_->claim_any(Protocol::tcp, table_->range(), 0, me()).valid());
  // The UDP space is separate.
  EXPECT_TRUE(table_->claim_any(Protocol::udp, table_->range(), 0, me()).valid());
}

TEST_F(TableTest, ClaimAnyStartsAtTheOffset) {
  const SlotRef ref = table_->claim_any(Protocol::tcp, table_->range(), 5, me());
  ASSERT_TRUE(ref.valid());
  EXPECT_EQ(ref.index, 5u);
}

TEST_F(TableTest, ClaimAnyStaysInsideTheJobRange) {
  const PortRange narrow{20004, 20005};
  for (int i = 0; i < 2; ++i) {
    const SlotRef ref = table_->claim_any(Protocol::tcp, narrow, 0, me());
    ASSERT_TRUE(ref.valid());
    EXPECT_TRUE(narrow.contains(static_cast<uint16_t>(20000 + ref.index)));
  }
  EXPECT_FALSE(table_->claim_any(Protocol::tcp, narrow, 0, me()).valid());
  EXPECT_FALSE(table_->claim_any(Protocol::tcp, PortRange{30000, 30010}, 0, me()).valid());
}

TEST_F(TableTest, ClaimPortRefusesAnotherLiveJob) {
  const PortClaim first = table_->claim_port(Protocol::tcp, 20003, me());
  ASSERT_EQ(first.result, ClaimResult::claimed);
  // Another job (led by pid 1, which is alive) asks for the same port.
  Claimant other = me(pack_identity(*read_process_identity(1)));
  other.job_name = "other";
  const PortClaim second = table_->claim_port(Protocol::tcp, 20003, other);
  EXPECT_EQ(second.result, ClaimResult::other_job);
  EXPECT_STREQ(second.holder.job_name, "test-job");
  EXPECT_EQ(second.holder.pid, static_cast<uint32_t>(getpid()));
}

TEST_F(TableTest, ClaimPortOfOwnJobIsReportedNotStolen) {
  ASSERT_EQ(table_->claim_port(Protocol::tcp, 20003, me()).result, ClaimResult::claimed);
  EXPECT_EQ(table_->claim_port(Protocol::tcp, 20003, me()).result, ClaimResult::own_claim);
}

TEST_F(TableTest, ClaimPortOutsideTheRange) {
  EXPECT_EQ(table_->claim_port(Protocol::tcp, 8080, me()).result, ClaimResult::out_of_range);
  EXPECT_EQ(table_->claim_port(Protocol::tcp, 20016, me()).result, ClaimResult::out_of_range);
}

TEST_F(TableTest, ExcludedPortsAreNeverHandedOut) {
  TableSpec spec = small_spec({20000, 20003});
  spec.excluded = {PortRange{20001, 20002}};
  open(spec);
  EXPECT_EQ(table_->claim_port(Protocol::tcp, 20001, me()).result, ClaimResult::excluded);
  std::set<uint32_t> indices;
  for (SlotRef ref; (ref = table_->claim_any(Protocol::tcp, table_->range(), 0, me())).valid();) {
    indices.insert(ref.index);
  }
  EXPECT_EQ(indices, (std::set<uint32_t>{0, 3}));
}

TEST_F(TableTest, DropFreesAtOnceAndOnlyForTheOwner) {
  PortClaim claim = table_->claim_port(Protocol::udp, 20001, me());
  ASSERT_EQ(claim.result, ClaimResult::claimed);
  ProcessIdentity stranger = *read_process_identity(1);
  EXPECT_FALSE(table_->drop(claim.ref, stranger));
  EXPECT_TRUE(table_->drop(claim.ref, read_own_identity()));
  EXPECT_EQ(table_->view(Protocol::udp, 20001)->state, SlotState::free);
  // A stale reference (the slot changed since) is refused.
  EXPECT_FALSE(table_->drop(claim.ref, read_own_identity()));
}

TEST_F(TableTest, HeldClaimsCarryJobAndLabel) {
  Claimant supervisor = me(12345);
  supervisor.label = "db";
  const SlotRef ref = table_->claim_any(Protocol::tcp, table_->range(), 0, supervisor, SlotState::held);
  ASSERT_TRUE(ref.valid());
  const auto views = table_->list();
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].state, SlotState::held);
  EXPECT_EQ(views[0].job_id, 12345u);
  EXPECT_STREQ(views[0].label, "db");
  SlotRef updated = ref;
  EXPECT_TRUE(table_->set_label(updated, read_own_identity(), "-> 172.17.0.2:80"));
  EXPECT_STREQ(table_->list()[0].label, "-> 172.17.0.2:80");
}

}  // namespace
}  // namespace portsafe::testing
