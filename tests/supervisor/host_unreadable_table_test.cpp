// Issue 16: the host daemon frees a block at once only when its table is definitely gone (no
// such name, or no longer that uid's table). A table it cannot read now (out of descriptors,
// a short read) may still hold claims: its block stays leased, so no port is ever shared.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <vector>

#include "host_fixture.hpp"

namespace portsafe::host::testing {
namespace {

class UnreadableTable : public HostTest {};

// Lowers this process's descriptor limit to what is open now, for the scope.
class NoMoreDescriptors {
 public:
  NoMoreDescriptors() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    const int next = ::dup(0);  // the lowest free descriptor: with the limit there, open() fails
    ::close(next);
    rlimit tight = saved_;
    tight.rlim_cur = static_cast<rlim_t>(next);
    ok_ = ::setrlimit(RLIMIT_NOFILE, &tight) == 0;
  }
  ~NoMoreDescriptors() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  bool ok() const { return ok_; }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

TEST_F(UnreadableTable, OpenSaysGoneOnlyForAMissingName) {
  OpenFailure failure = OpenFailure::none;
  std::string reason;
  EXPECT_FALSE(ForeignTable::open("portsafe-0000000000000000", 0, reason, &failure));
  EXPECT_EQ(failure, OpenFailure::gone) << reason;
  PortTable& table = make_table(0);
  {
    NoMoreDescriptors limit;
    ASSERT_TRUE(limit.ok());
    failure = OpenFailure::none;
    EXPECT_FALSE(ForeignTable::open(table.name(), 0, reason, &failure));
  }
  EXPECT_EQ(failure, OpenFailure::unknown) << "EMFILE is ours, not the table's: " << reason;
}

TEST_F(UnreadableTable, ABlockWhoseTableCannotBeOpenedNowStaysLeased) {
  PortTable& table = make_table(kOtherUid);
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  const LeaseDecision d = book.lease(kOtherUid, table.name(), now);
  ASSERT_TRUE(d.granted) << d.message;
  const uint16_t port = open_view()->block_range(d.block).low;
  ASSERT_EQ(table.claim_port(Protocol::tcp, port, claimant()).result, ClaimResult::claimed);
  size_t freed = 0;
  {
    NoMoreDescriptors limit;
    ASSERT_TRUE(limit.ok());
    freed = book.reclaim_idle(now + kReclaimIdleMs);
  }
  EXPECT_EQ(freed, 0u) << "out of descriptors is no proof the table is gone";
  const auto view = open_view();
  EXPECT_EQ(view->block(d.block).state, BlockState::leased);
  EXPECT_EQ(view->block(d.block).uid, kOtherUid);
}

TEST_F(UnreadableTable, ABlockWhoseTableReadsShortStaysLeased) {
  PortTable& table = make_table(0);
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  const LeaseDecision d = book.lease(0, table.name(), now);
  ASSERT_TRUE(d.granted) << d.message;
  // Cut inside the slots: the header is whole, the block's slots read short.
  ASSERT_EQ(::truncate(PortTable::shm_path(table.name()).c_str(), kHeaderBytes + 3 * sizeof(Slot)), 0);
  EXPECT_EQ(book.reclaim_idle(now + kReclaimIdleMs), 0u);
  EXPECT_EQ(open_view()->block(d.block).state, BlockState::leased);
}

TEST_F(UnreadableTable, ABlockWhoseTableWasRemovedIsFreed) {
  PortTable& table = make_table(0);
  LeaseBook book(*writer_);
  const int64_t now = monotonic_ms();
  ASSERT_TRUE(book.lease(0, table.name(), now).granted);
  ASSERT_TRUE(PortTable::remove(table.name()));
  EXPECT_EQ(book.reclaim_idle(now), 1u);
}

}  // namespace
}  // namespace portsafe::host::testing
