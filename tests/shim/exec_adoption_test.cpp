// A socket bound before exec keeps its claim's lifecycle after exec: the new image's shim finds
// it in /proc/self/fd, so serving a connection then closing frees the port while it still runs.
#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

TEST(ExecAdoption, SocketKeptAcrossExecIsReleasedByTheNewImage) {
  const ProbeResult probe = run_probe({"exec-adopt"});
  ASSERT_EQ(probe.exit_code, 0) << probe.out << probe.err;
  unsigned port = 0;
  char state[32] = {};
  ASSERT_EQ(std::sscanf(probe.out.c_str(), "port %u state %31s", &port, state), 2) << probe.out;
  EXPECT_TRUE(in_test_range(static_cast<uint16_t>(port)));
  EXPECT_STREQ(state, "free") << "accept+close after exec must free the port at once";
}

}  // namespace
}  // namespace portsafe::shim_test
