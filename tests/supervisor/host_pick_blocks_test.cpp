// Issue 16: with a host registry, an account's port-0 picks land only in the blocks leased to
// it, round robin across them; when they are full one more block is leased from the host daemon
// (the real portsafed --host here); a fixed port in another account's block is refused with
// EADDRINUSE when the daemon says that account has it, and passes when no daemon answers.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "host_daemon_process.hpp"
#include "host_fixture.hpp"
#include "portsafe/bind_rules.hpp"

namespace portsafe::host::testing {
namespace {

class RecordingSite final : public BindSite {
 public:
  std::vector<uint16_t> bound;
  std::vector<BindEvent> events;
  int bind(const struct sockaddr* addr, socklen_t length) noexcept override {
    bound.push_back(*inet_address_port(addr, length));
    return 0;
  }
  std::optional<int> int_option(int, int) noexcept override { return 0; }
  void set_int_option(int, int, int) noexcept override {}
  void remember(const SlotRef&, uint16_t) noexcept override {}
  void note(const BindNote& note) noexcept override { events.push_back(note.event); }
};

int bind_port(PortTable& table, HostLeases* host, uint16_t port, RecordingSite& site) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BindRequest request;
  request.addr = reinterpret_cast<const sockaddr*>(&address);
  request.length = sizeof address;
  request.port = port;
  const Claimant who = HostTest::claimant();
  const BindScope scope{table, table.range(), who, nullptr, host};
  return coordinated_inet_bind(scope, request, site);
}

class PickInBlocks : public HostTest {};

TEST_F(PickInBlocks, PicksLandOnlyInTheAccountsBlocks) {
  PortTable& table = make_table(0);
  writer_->grant(1, 0, table.name(), monotonic_ms());
  writer_->grant(3, 0, table.name(), monotonic_ms());
  writer_->grant(2, kOtherUid, account_table_name(), monotonic_ms());
  const auto leases = leases_for(table, 0);
  const auto view = open_view();
  std::set<uint16_t> ports;
  for (int i = 0; i < 32; ++i) {
    const PickResult r = leases->pick(table, Protocol::tcp, claimant());
    ASSERT_TRUE(r.ref.valid()) << "pick " << i;
    const uint16_t port = port_of(table, r.ref);
    const uint32_t block = *view->block_of(port);
    EXPECT_TRUE(block == 1 || block == 3) << "port " << port << " is in block " << block;
    ports.insert(port);
  }
  EXPECT_EQ(ports.size(), 32u);
  // Both blocks full of live claims, no daemon to lease from: no port (the kernel will choose),
  // never one of the free blocks 0 or another account's block 2.
  EXPECT_FALSE(leases->pick(table, Protocol::tcp, claimant()).ref.valid());
}

TEST_F(PickInBlocks, PicksGoRoundRobinAcrossEveryBlock) {
  PortTable& table = make_table(0);
  writer_->grant(0, 0, table.name(), monotonic_ms());
  writer_->grant(2, 0, table.name(), monotonic_ms());
  const auto leases = leases_for(table, 0);
  const Claimant who = claimant();
  std::set<uint16_t> ports;
  // Each pick's claim is dropped at once: the port is free again, yet the next pick moves on.
  for (int i = 0; i < 32; ++i) {
    const PickResult r = leases->pick(table, Protocol::tcp, who);
    ASSERT_TRUE(r.ref.valid());
    ports.insert(port_of(table, r.ref));
    table.drop(r.ref, who.process);
  }
  EXPECT_EQ(ports.size(), 32u) << "32 picks visit all 32 ports of the two blocks once";
}

TEST_F(PickInBlocks, ALingeringAccountGivesWayOnlyInsideItsBlocks) {
  PortTable& table = make_table(0);
  writer_->grant(1, 0, table.name(), monotonic_ms());
  const auto leases = leases_for(table, 0);
  const Claimant who = claimant();
  for (int i = 0; i < 16; ++i) {
    const PickResult r = leases->pick(table, Protocol::tcp, who);
    ASSERT_TRUE(r.ref.valid());
    ASSERT_TRUE(table.release(r.ref, who.process, monotonic_ms() - 2'000));  // an old, unused number: lingers
  }
  const PickResult r = leases->pick(table, Protocol::tcp, who);
  ASSERT_TRUE(r.ref.valid()) << "refused a lease, the block's oldest linger gives way";
  EXPECT_TRUE(r.gave_way);
  EXPECT_EQ(*open_view()->block_of(port_of(table, r.ref)), 1u);
}

TEST_F(PickInBlocks, WithNoBlockAndNoDaemonTheKernelChoosesAndSaysWhy) {
  PortTable& table = make_table(0);
  const auto leases = leases_for(table, 0);
  RecordingSite site;
  EXPECT_EQ(bind_port(table, leases.get(), 0, site), 0);
  ASSERT_EQ(site.bound.size(), 1u);
  EXPECT_EQ(site.bound[0], 0) << "port 0 left to the kernel, never a port of another account's range";
  ASSERT_FALSE(site.events.empty());
  EXPECT_EQ(site.events.back(), BindEvent::fallback_host);
  EXPECT_TRUE(table.list().empty());
}

// A burst of first picks: another process of the account leased a block while this pick's own
// lease failed (here: no daemon). The pick uses that block instead of the kernel.
TEST_F(PickInBlocks, ABlockLeasedMeanwhileByAnotherProcessIsUsed) {
  PortTable& table = make_table(0);
  const auto leases = leases_for(table, 0);
  struct Context {
    PickInBlocks* test;
    PortTable* table;
  } context{this, &table};
  PickHooks hooks;
  hooks.context = &context;
  hooks.after_snapshot = [](void* raw) {
    auto& c = *static_cast<Context*>(raw);
    if (block_word::state(c.test->writer_->view().word(1)) == BlockState::free) {
      c.test->writer_->grant(1, 0, c.table->name(), monotonic_ms());
    }
  };
  leases->set_hooks_for_tests(hooks);
  const PickResult r = leases->pick(table, Protocol::tcp, claimant());
  ASSERT_TRUE(r.ref.valid());
  EXPECT_EQ(*open_view()->block_of(port_of(table, r.ref)), 1u);
}

// The real daemon (a registry of its own).
class PickWithDaemon : public HostTest {
 protected:
  static constexpr PortRange kRange = HostDaemonProcess::kRange;
  void SetUp() override {
    HostTest::SetUp();
    if (IsSkipped()) return;
    daemon_.start();
  }
  void stop_daemon() { daemon_.stop(); }
  std::unique_ptr<HostLeases> attach(const PortTable& table) {
    HostLeasesOpen opened = HostLeases::attach(table, daemon_.dir());
    EXPECT_TRUE(opened.leases) << opened.reason;
    return std::move(opened.leases);
  }
  // Leases a block for `table` as uid kOtherUid, through the socket (SO_PEERCRED says who).
  void lease_as_other(const PortTable& table) {
    const pid_t child = ::fork();
    if (child == 0) {
      if (::setresgid(kOtherUid, kOtherUid, kOtherUid) != 0 || ::setresuid(kOtherUid, kOtherUid, kOtherUid) != 0) {
        ::_exit(2);
      }
      const HostClient client(daemon_.socket().c_str());
      ::_exit(client.lease(table.name().c_str(), 2'000).answer == HostAnswer::granted ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the other account got no block";
  }

  HostDaemonProcess daemon_;
};

TEST_F(PickWithDaemon, AFullAccountLeasesOneMoreBlock) {
  PortTable& table = make_table(0, kRange);
  const auto leases = attach(table);
  ASSERT_TRUE(leases);
  EXPECT_EQ(leases->own_blocks(), 0u);
  for (int i = 0; i < 33; ++i) ASSERT_TRUE(leases->pick(table, Protocol::udp, claimant()).ref.valid()) << i;
  EXPECT_EQ(leases->own_blocks(), 2u) << "one block at the first pick, one more at the 33rd";
  EXPECT_EQ(leases->leases_asked(), 2u);
}

TEST_F(PickWithDaemon, AFixedPortAnotherAccountHasIsRefusedAndAFreeOnePasses) {
  PortTable& mine = make_table(0, kRange);
  PortTable& theirs = make_table(kOtherUid, kRange);
  lease_as_other(theirs);
  const auto view = HostRegistry::open(daemon_.dir());
  ASSERT_TRUE(view.registry) << view.reason;
  uint32_t block = 0;
  while (view.registry->block(block).uid != kOtherUid) ++block;
  const PortRange their_block = view.registry->block_range(block);
  // Their job binds the block's first port (the root test process writes into their table).
  ASSERT_EQ(theirs.claim_port(Protocol::tcp, their_block.low, claimant()).result, ClaimResult::claimed);
  const auto leases = attach(mine);
  ASSERT_TRUE(leases);

  RecordingSite refused;
  EXPECT_EQ(bind_port(mine, leases.get(), their_block.low, refused), EADDRINUSE);
  EXPECT_TRUE(refused.bound.empty());
  ASSERT_FALSE(refused.events.empty());
  EXPECT_EQ(refused.events.back(), BindEvent::other_account);

  RecordingSite passes;
  EXPECT_EQ(bind_port(mine, leases.get(), static_cast<uint16_t>(their_block.low + 1), passes), 0);
  EXPECT_EQ(passes.bound.size(), 1u) << "a port of their block they do not have";

  stop_daemon();
  RecordingSite fail_open;
  EXPECT_EQ(bind_port(mine, leases.get(), their_block.low, fail_open), 0) << "no daemon: the bind passes";
}

}  // namespace
}  // namespace portsafe::host::testing
