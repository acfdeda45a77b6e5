// Silent by default; PORTSAFE_LOG=info says each decision, and a refusal names the job and pid
// that hold the port.
#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ShimLogging, SilentByDefault) {
  const ProbeResult probe = run_probe({"bind0", "tcp", "1"});
  ASSERT_EQ(probe.exit_code, 0);
  EXPECT_EQ(probe.err, "");
}

TEST(ShimLogging, InfoSaysEachPick) {
  const ProbeResult probe = run_probe({"bind0", "udp", "2"}, {{"PORTSAFE_LOG", "info"}});
  ASSERT_EQ(probe.exit_code, 0);
  EXPECT_EQ(count(probe.err, "bind udp port 0 -> picked"), 2u) << probe.err;
}

TEST(ShimLogging, RefusalNamesTheHoldingJobAndPid) {
  OtherProcess other;
  const PortClaim claim = table().claim_port(Protocol::tcp, kRangeLow, other.claimant(0, "db-tests"));
  ASSERT_EQ(claim.result, ClaimResult::claimed);
  const ProbeResult probe = run_probe({"bind", std::to_string(kRangeLow)}, {{"PORTSAFE_LOG", "info"}});
  table().drop(claim.ref, other.identity());
  EXPECT_EQ(probe.exit_code, 1);
  EXPECT_EQ(probe.out, "error Address already in use\n");
  const std::string expected = "job 'db-tests' (pid " + std::to_string(other.identity().pid) + ") holds it";
  EXPECT_NE(probe.err.find(expected), std::string::npos) << probe.err;
}

TEST(ShimLogging, OffSilencesEvenWarnings) {
  const ProbeResult probe = run_probe({"bind0", "tcp", "1"}, {{"PORTSAFE_LOG", "off"}, {"PORTSAFE_RANGE", "1-2"}});
  ASSERT_EQ(probe.exit_code, 0);
  EXPECT_EQ(probe.err, "");
}

}  // namespace
}  // namespace portsafe::shim_test
