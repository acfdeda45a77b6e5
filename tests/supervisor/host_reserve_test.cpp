// Issue 16: portsafed's reserve follows the account's blocks too: a port-0 hold is picked in a
// block leased to the account, and a given port another account has is refused (port_in_use).
#include <gtest/gtest.h>

#include "host_daemon_process.hpp"
#include "host_fixture.hpp"
#include "port_keeper.hpp"

namespace portsafe::host::testing {
namespace {

class ReserveInBlocks : public HostTest {
 protected:
  supervisor::JobInfo job() const { return supervisor::JobInfo{pack_identity(read_own_identity()), "ci"}; }
};

TEST_F(ReserveInBlocks, APortZeroHoldLandsInTheAccountsBlock) {
  PortTable& table = make_table(0);
  writer_->grant(2, 0, table.name(), monotonic_ms());
  writer_->grant(0, kOtherUid, account_table_name(), monotonic_ms());
  const auto leases = leases_for(table, 0);
  supervisor::PortKeeper keeper(table, read_own_identity());
  keeper.set_host(leases.get());
  for (int i = 0; i < 4; ++i) {
    const auto reserved = keeper.reserve(7, job(), {{"web" + std::to_string(i), Protocol::tcp, 0}});
    ASSERT_FALSE(reserved.error) << reserved.error->message;
    const uint16_t port = reserved.value.front().port;
    EXPECT_TRUE(open_view()->block_range(2).contains(port)) << "held port " << port << " is outside block 2";
  }
  keeper.release_all();
}

TEST_F(ReserveInBlocks, AGivenPortAnotherAccountHasIsRefused) {
  HostDaemonProcess daemon;
  daemon.start();
  PortTable& mine = make_table(0, HostDaemonProcess::kRange);
  PortTable& theirs = make_table(0, HostDaemonProcess::kRange);
  // The other "account" is another table of this uid: the daemon answers for any table but the asker's.
  const HostClient client(daemon.socket().c_str());
  const HostReply lease = client.lease(theirs.name().c_str(), 2'000);
  ASSERT_EQ(lease.answer, HostAnswer::granted);
  const auto their_port = static_cast<uint16_t>(HostDaemonProcess::kRange.low + lease.block * 32);
  ASSERT_EQ(theirs.claim_port(Protocol::tcp, their_port, claimant()).result, ClaimResult::claimed);
  HostLeasesOpen attached = HostLeases::attach(mine, daemon.dir());
  ASSERT_TRUE(attached.leases) << attached.reason;
  supervisor::PortKeeper keeper(mine, read_own_identity());
  keeper.set_host(attached.leases.get());
  const auto refused = keeper.reserve(7, job(), {{"db", Protocol::tcp, their_port}});
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->code, wire::ErrorCode::port_in_use);
  EXPECT_NE(refused.error->message.find("another account"), std::string::npos) << refused.error->message;
  const auto granted = keeper.reserve(7, job(), {{"db", Protocol::tcp, static_cast<uint16_t>(their_port + 1)}});
  EXPECT_FALSE(granted.error) << "a port of their block they do not have";
  keeper.release_all();
}

}  // namespace
}  // namespace portsafe::host::testing
