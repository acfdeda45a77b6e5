// A bad PORTSAFE_RANGE or PORTSAFE_LINGER is ignored with one warning naming the fix; the shim
// keeps working with the table's range and default linger. The warning is the job leader's: a
// process that inherits a live leader's PORTSAFE_JOB_ID (this test process leads the probes it
// starts) says nothing, so a job says it once. "As leader" runs a probe with no job to join.
#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

uint16_t first_port(const ProbeResult& probe) {
  return probe.out.rfind("port ", 0) == 0 ? static_cast<uint16_t>(std::atoi(probe.out.c_str() + 5)) : 0;
}

TEST(EnvironmentChecks, InvalidRangeIsIgnoredWithOneWarning) {
  const ProbeResult probe = run_probe({"bind0", "tcp", "1"}, {{"PORTSAFE_RANGE", "9-5"}, {"PORTSAFE_JOB_ID", nullptr}});
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_EQ(count(probe.err, "\n"), 1u) << probe.err;
  EXPECT_NE(probe.err.find("ignoring PORTSAFE_RANGE"), std::string::npos) << probe.err;
  EXPECT_TRUE(in_test_range(first_port(probe))) << probe.out;
}

TEST(EnvironmentChecks, AProcessOfALiveLeadersJobLeavesTheWarningToTheLeader) {
  const ProbeResult probe = run_probe({"bind0", "tcp", "1"}, {{"PORTSAFE_RANGE", "9-5"}, {"PORTSAFE_LINGER", "soon"}});
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_EQ(probe.err, "");
  EXPECT_TRUE(in_test_range(first_port(probe))) << probe.out;
}

TEST(EnvironmentChecks, RangeOutsideTheTableWarnsAndUsesTheTablesRange) {
  const ProbeResult probe =
      run_probe({"bind0", "tcp", "1"}, {{"PORTSAFE_RANGE", "30000-30010"}, {"PORTSAFE_JOB_ID", nullptr}});
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_EQ(count(probe.err, "\n"), 1u) << probe.err;
  EXPECT_NE(probe.err.find("is not inside the table's range"), std::string::npos) << probe.err;
  EXPECT_TRUE(in_test_range(first_port(probe))) << probe.out;
}

TEST(EnvironmentChecks, NarrowerRangeInsideTheTableIsTheJobsPickRange) {
  const ProbeResult probe = run_probe({"bind0", "tcp", "2"}, {{"PORTSAFE_RANGE", "20120-20121"}});
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_EQ(probe.err, "");
  EXPECT_TRUE(probe.out == "port 20120\nport 20121\n" || probe.out == "port 20121\nport 20120\n") << probe.out;
}

TEST(EnvironmentChecks, InvalidLingerAndJobIdAreIgnoredWithAWarningEach) {
  const ProbeResult probe =
      run_probe({"bind0", "tcp", "1"}, {{"PORTSAFE_LINGER", "soon"}, {"PORTSAFE_JOB_ID", "not-an-id"}});
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_EQ(count(probe.err, "\n"), 2u) << probe.err;
  EXPECT_NE(probe.err.find("ignoring PORTSAFE_LINGER=soon"), std::string::npos) << probe.err;
  EXPECT_NE(probe.err.find("ignoring PORTSAFE_JOB_ID=not-an-id"), std::string::npos) << probe.err;
  EXPECT_TRUE(in_test_range(first_port(probe))) << probe.out;
}

}  // namespace
}  // namespace portsafe::shim_test
