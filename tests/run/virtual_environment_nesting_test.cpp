// A portsafe-run --virtual in shim mode inside another: COMMAND's PORTSAFE_VIRTUAL keeps the outer
// job's virtual ports next to its own, its own winning where they clash.
#include <gtest/gtest.h>

#include "run/job_session.hpp"
#include "run/virtual_options.hpp"

namespace portsafe::run {
namespace {

HeldPort held(const char* spec, uint16_t real) { return {*parse_virtual_spec(spec).value, real}; }

TEST(VirtualEnvironmentNesting, KeepsTheOuterJobsPortsBesideItsOwn) {
  EXPECT_EQ(format_virtual_environment({held("9090", 24002)}, "8080/tcp=24001"), "9090/tcp=24002,8080/tcp=24001");
}

TEST(VirtualEnvironmentNesting, ItsOwnPortReplacesTheOuterOne) {
  EXPECT_EQ(format_virtual_environment({held("8080", 24002)}, "8080/tcp=24001,53/udp=24003"),
            "8080/tcp=24002,53/udp=24003");
}

TEST(VirtualEnvironmentNesting, AMalformedInheritedListIsDropped) {
  EXPECT_EQ(format_virtual_environment({held("8080", 24002)}, "8080/tcp=nope"), "8080/tcp=24002");
  EXPECT_EQ(format_virtual_environment({held("8080", 24002)}, nullptr), "8080/tcp=24002");
}

}  // namespace
}  // namespace portsafe::run
