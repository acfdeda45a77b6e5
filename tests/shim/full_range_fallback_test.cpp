// When every port of the range is taken, the shim reaps once, then lets the kernel choose with
// one warning, and counts the event where `portsafe status` shows it.
#include "portsafe/runtime_root.hpp"
#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

TEST(FullRangeFallback, KernelChoosesAndTheTableCountsIt) {
  OtherProcess other;
  std::vector<SlotRef> refs;
  for (uint16_t port = kRangeLow; port <= kRangeHigh; ++port) {
    const PortClaim claim = table().claim_port(Protocol::tcp, port, other.claimant());
    ASSERT_EQ(claim.result, ClaimResult::claimed);
    refs.push_back(claim.ref);
  }
  const TableCounters before = table().counters();
  const auto [fd, port] = bind_zero();
  EXPECT_NE(port, 0);
  EXPECT_FALSE(in_test_range(port)) << "the kernel chose";
  const TableCounters after = table().counters();
  EXPECT_EQ(after.fallbacks, before.fallbacks + 1);
  EXPECT_EQ(after.full_range_events, before.full_range_events + 1);
  ::close(fd);
  // UDP has its own table half: still coordinated.
  const auto [udp, udp_port] = bind_zero(SOCK_DGRAM);
  EXPECT_TRUE(in_test_range(udp_port));
  ::close(udp);
  for (const SlotRef& ref : refs) table().drop(ref, other.identity());
}

TEST(FullRangeFallback, DeadOwnersAreReapedBeforeFallingBack) {
  std::vector<SlotRef> refs;
  {
    OtherProcess doomed;
    for (uint16_t port = kRangeLow; port <= kRangeHigh; ++port) {
      ASSERT_EQ(table().claim_port(Protocol::tcp, port, doomed.claimant()).result, ClaimResult::claimed);
    }
  }  // dead now; every slot still says bound
  const TableCounters before = table().counters();
  const auto [fd, port] = bind_zero();
  EXPECT_TRUE(in_test_range(port));
  EXPECT_EQ(table().counters().fallbacks, before.fallbacks);
  ::close(fd);
}

TEST(FullRangeFallback, WarnsOncePerProcess) {
  // A separate process with a one-port range: the second pick falls back, and so does the third,
  // with a single warning.
  const ProbeResult probe =
      run_probe({"bind0", "tcp", "3"}, {{"PORTSAFE_RANGE", "20200-20200"}, {"PORTSAFE_RUNTIME_DIR", nullptr},
                                        {"XDG_RUNTIME_DIR", runtime_root().c_str()}});
  ASSERT_EQ(probe.exit_code, 0) << probe.out << probe.err;
  EXPECT_NE(probe.out.find("port 20200\n"), std::string::npos) << probe.out;
  size_t warnings = 0;
  for (size_t at = probe.err.find("is full"); at != std::string::npos; at = probe.err.find("is full", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << probe.err;
  const std::string probe_root = runtime_root() + "/portsafe/" + network_namespace_tag();
  PortTable::remove(table_name(probe_root));
}

}  // namespace
}  // namespace portsafe::shim_test
