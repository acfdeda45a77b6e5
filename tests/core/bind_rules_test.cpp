// The claim rules both tiers share (bind_rules), through a site that records what they ask of it:
// a port-0 pick binds a port of the job's range, skips ports outsiders hold, gives a failed
// bind's claim back; a full range first asks the site to release gone claims, then falls back
// to the kernel (counted); another job's port is refused without binding; the job's held port
// gets SO_REUSEADDR; a bpf-mode job's virtual port goes to the kernel unclaimed.
#include <netinet/in.h>

#include <cstring>
#include <functional>
#include <set>
#include <vector>

#include "portsafe/bind_rules.hpp"
#include "portsafe/virtual_ports.hpp"
#include "table_fixture.hpp"

namespace portsafe::testing {
namespace {

class RecordingSite final : public BindSite {
 public:
  std::set<uint16_t> outsiders;  // binds of these ports fail with EADDRINUSE
  int fail_every_bind = 0;       // non-zero: every bind fails with this errno
  std::vector<uint16_t> bound;   // ports bound, in order (0: the kernel's choice)
  std::vector<socklen_t> lengths;  // the address length of each bind attempt
  std::vector<int> reuse_at_bind;  // SO_REUSEADDR at each bind attempt
  std::vector<uint16_t> remembered;
  std::vector<BindEvent> events;
  int reuse = 0;
  int releases_asked = 0;
  bool release_frees = false;
  std::function<void()> on_release;

  int bind(const struct sockaddr* addr, socklen_t length) noexcept override {
    lengths.push_back(length);
    const uint16_t port = *inet_address_port(addr, length);
    reuse_at_bind.push_back(reuse);
    if (fail_every_bind != 0) return fail_every_bind;
    if (outsiders.count(port) > 0) return EADDRINUSE;
    bound.push_back(port);
    return 0;
  }
  std::optional<int> int_option(int level, int name) noexcept override {
    if (level == SOL_SOCKET && name == SO_REUSEADDR) return reuse;
    return 0;
  }
  void set_int_option(int level, int name, int value) noexcept override {
    if (level == SOL_SOCKET && name == SO_REUSEADDR) reuse = value;
  }
  void remember(const SlotRef&, uint16_t port) noexcept override { remembered.push_back(port); }
  void note(const BindNote& note) noexcept override { events.push_back(note.event); }
  bool release_gone_claims() noexcept override {
    ++releases_asked;
    if (on_release) on_release();
    return release_frees;
  }
};

class BindRulesTest : public TableTest {
 protected:
  int bind_port(uint16_t port, RecordingSite& site, Protocol proto = Protocol::tcp) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BindRequest request;
    request.addr = reinterpret_cast<const sockaddr*>(&address);
    request.length = sizeof address;
    request.proto = proto;
    request.port = port;
    claimant_ = me();
    BindScope scope{*table_, table_->range(), claimant_, nullptr};
    scope.kernel_virtual = kernel_virtual_;
    return coordinated_inet_bind(scope, request, site);
  }
  Claimant claimant_;
  const VirtualPorts* kernel_virtual_ = nullptr;
};

TEST_F(BindRulesTest, PortZeroBindsAPortOfTheRangeAndRemembersTheClaim) {
  RecordingSite site;
  EXPECT_EQ(bind_port(0, site), 0);
  ASSERT_EQ(site.bound.size(), 1u);
  EXPECT_TRUE(table_->range().contains(site.bound[0]));
  EXPECT_EQ(site.remembered, site.bound);
  EXPECT_EQ(table_->view(Protocol::tcp, site.bound[0])->state, SlotState::bound);
}

// The kernel refuses an address longer than a sockaddr_storage with EINVAL: the rules must pass
// it on whole (a pick's copy used to cut it to 128 bytes, and that bind succeeded).
TEST_F(BindRulesTest, AnOverlongAddressIsPassedOnUnchangedAndUnclaimed) {
  for (const uint16_t port : {uint16_t{0}, uint16_t{20005}}) {
    alignas(sockaddr_storage) unsigned char buffer[sizeof(sockaddr_storage) + 16] = {};
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::memcpy(buffer, &address, sizeof address);
    BindRequest request;
    request.addr = reinterpret_cast<const sockaddr*>(buffer);
    request.length = sizeof buffer;
    request.proto = Protocol::tcp;
    request.port = port;
    const Claimant claimant = me();
    BindScope scope{*table_, table_->range(), claimant, nullptr};
    RecordingSite site;
    EXPECT_EQ(coordinated_inet_bind(scope, request, site), 0) << port;
    EXPECT_EQ(site.lengths, std::vector<socklen_t>{sizeof buffer}) << port;
    EXPECT_EQ(site.bound, std::vector<uint16_t>{port}) << "the program's own port, not a pick";
    EXPECT_TRUE(site.remembered.empty()) << port;
    EXPECT_TRUE(table_->list().empty()) << port;
  }
}

TEST_F(BindRulesTest, PortsOutsidersHoldAreSkippedAndLeftUnclaimed) {
  RecordingSite site;
  site.outsiders = {20000, 20001};
  EXPECT_EQ(bind_port(0, site), 0);
  ASSERT_EQ(site.bound.size(), 1u);
  EXPECT_EQ(site.bound[0], 20002);
  EXPECT_EQ(table_->view(Protocol::tcp, 20000)->state, SlotState::free);
}

TEST_F(BindRulesTest, AFailedPickGivesItsClaimBackAndReportsTheErrno) {
  RecordingSite site;
  site.fail_every_bind = EADDRNOTAVAIL;
  EXPECT_EQ(bind_port(0, site), EADDRNOTAVAIL);
  EXPECT_TRUE(table_->list().empty());
}

TEST_F(BindRulesTest, SoReuseaddrIsClearedForThePickAndRestored) {
  RecordingSite site;
  site.reuse = 1;
  EXPECT_EQ(bind_port(0, site), 0);
  EXPECT_EQ(site.reuse_at_bind, std::vector<int>{0});  // no sharing a port with an outsider's reuse socket
  EXPECT_EQ(site.reuse, 1);
}

TEST_F(BindRulesTest, AFullRangeAsksTheSiteToReleaseThenFallsBackCounted) {
  RecordingSite site;
  for (int i = 0; i < 16; ++i) ASSERT_EQ(bind_port(0, site), 0);
  const TableCounters before = table_->counters();
  EXPECT_EQ(bind_port(0, site), 0);
  EXPECT_EQ(site.releases_asked, 1);
  EXPECT_EQ(site.bound.back(), 0);  // the kernel's choice: the program's own address
  EXPECT_EQ(site.events.back(), BindEvent::fallback_full);
  EXPECT_EQ(table_->counters().fallbacks, before.fallbacks + 1);
  EXPECT_EQ(table_->counters().full_range_events, before.full_range_events + 1);
}

TEST_F(BindRulesTest, ClaimsTheSiteReleasesWhenTheRangeIsFullAreReused) {
  RecordingSite site;
  for (int i = 0; i < 16; ++i) ASSERT_EQ(bind_port(0, site), 0);
  const uint16_t first = site.bound.front();
  site.release_frees = true;
  site.on_release = [&] { table_->drop(table_->ref_of(Protocol::tcp, first), read_own_identity()); };
  EXPECT_EQ(bind_port(0, site), 0);
  EXPECT_EQ(site.bound.back(), first);
  EXPECT_EQ(site.events.back(), BindEvent::picked);
}

TEST_F(BindRulesTest, AnotherJobsPortIsRefusedWithoutBinding) {
  Claimant other = me(pack_identity(*read_process_identity(1)));
  other.job_name = "other";
  ASSERT_EQ(table_->claim_port(Protocol::udp, 20005, other).result, ClaimResult::claimed);
  RecordingSite site;
  EXPECT_EQ(bind_port(20005, site, Protocol::udp), EADDRINUSE);
  EXPECT_TRUE(site.bound.empty());
  EXPECT_EQ(site.events.back(), BindEvent::other_job);
}

TEST_F(BindRulesTest, TheJobsHeldPortGetsSoReuseaddrAndIsBound) {
  Claimant supervisor = me();
  ASSERT_EQ(table_->claim_port(Protocol::tcp, 20006, supervisor, SlotState::held).result, ClaimResult::claimed);
  RecordingSite site;
  EXPECT_EQ(bind_port(20006, site), 0);
  EXPECT_EQ(site.reuse, 1);
  EXPECT_EQ(site.bound, std::vector<uint16_t>{20006});
  EXPECT_TRUE(site.remembered.empty());  // the slot stays the supervisor's
}

// The kernel rewrites a bpf-mode job's bind to virtual 20007/tcp into one to its held real port:
// claiming 20007 would refuse the same virtual port to the job's other processes and to other
// jobs, and keep 20007 itself from any job. Its udp twin is an ordinary port.
TEST_F(BindRulesTest, AKernelVirtualPortIsBoundWithoutAClaimAndOnlyForItsProtocol) {
  VirtualPorts kernel;
  ASSERT_TRUE(kernel.add({Protocol::tcp, 20007, 20010}));
  kernel_virtual_ = &kernel;
  RecordingSite site;
  EXPECT_EQ(bind_port(20007, site), 0);
  EXPECT_EQ(site.bound, std::vector<uint16_t>{20007});
  EXPECT_TRUE(site.remembered.empty());
  EXPECT_TRUE(site.events.empty());
  EXPECT_EQ(table_->view(Protocol::tcp, 20007)->state, SlotState::free);

  EXPECT_EQ(bind_port(20007, site, Protocol::udp), 0);
  EXPECT_EQ(site.remembered, std::vector<uint16_t>{20007});
  EXPECT_EQ(site.events.back(), BindEvent::claimed);
  EXPECT_EQ(table_->view(Protocol::udp, 20007)->state, SlotState::bound);
}

// Another job holding the number does not matter either: the bind never reaches that number.
TEST_F(BindRulesTest, AKernelVirtualPortIsBoundEvenWhenAnotherJobClaimedTheNumber) {
  Claimant other = me(pack_identity(*read_process_identity(1)));
  other.job_name = "other";
  ASSERT_EQ(table_->claim_port(Protocol::tcp, 20008, other).result, ClaimResult::claimed);
  VirtualPorts kernel;
  ASSERT_TRUE(kernel.add({Protocol::tcp, 20008, 20011}));
  RecordingSite site;
  EXPECT_EQ(bind_port(20008, site), EADDRINUSE);  // without the table: refused as usual
  kernel_virtual_ = &kernel;
  EXPECT_EQ(bind_port(20008, site), 0);
  EXPECT_EQ(site.bound, std::vector<uint16_t>{20008});
}

}  // namespace
}  // namespace portsafe::testing
