// What the claim rules leave to the kernel in bpf mode: one VirtualPorts table, the job's own
// virtual ports joined with an outer bpf-mode job's (PORTSAFE_VIRTUAL_KERNEL, the PORTSAFE_VIRTUAL
// wire form). The seccomp handler gets the table; COMMAND gets its wire form, which the shim
// parses back; outside bpf mode an inherited list passes on unchanged.
#include <gtest/gtest.h>

#include "run/child_environment.hpp"
#include "run/job_session.hpp"
#include "run/virtual_options.hpp"

namespace portsafe::run {
namespace {

HeldPort held(const char* spec, uint16_t real) { return {*parse_virtual_spec(spec).value, real}; }

std::vector<std::string> values_of(const ChildEnvironment& env, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& entry : env.entries) {
    if (entry.compare(0, key.size() + 1, key + "=") == 0) out.push_back(entry.substr(key.size() + 1));
  }
  return out;
}

TEST(KernelVirtualPorts, BpfModeJoinsTheJobsPortsToTheOuterJobs) {
  const VirtualPorts ports = kernel_virtual_ports(true, {held("8080", 24002), held("53/udp", 24004)}, "9090/tcp=24001");
  EXPECT_EQ(format_virtual_ports(ports), "8080/tcp=24002,53/udp=24004,9090/tcp=24001");
  EXPECT_EQ(ports.real_port(Protocol::udp, 53), 24004);
  EXPECT_FALSE(ports.real_port(Protocol::tcp, 53).has_value());
  // The wire form is the shim's: it parses back to the same table.
  const VirtualPortsParse parsed = parse_virtual_ports(format_virtual_ports(ports));
  EXPECT_EQ(parsed.error, nullptr);
  EXPECT_EQ(format_virtual_ports(parsed.ports), format_virtual_ports(ports));
}

TEST(KernelVirtualPorts, OutsideBpfModeOnlyTheInheritedListCounts) {
  EXPECT_EQ(format_virtual_ports(kernel_virtual_ports(false, {held("8080", 24002)}, "9090/tcp=24001")),
            "9090/tcp=24001");
  EXPECT_TRUE(kernel_virtual_ports(false, {held("8080", 24002)}, nullptr).empty());
}

TEST(KernelVirtualPorts, AMalformedInheritedListIsDropped) {
  // The pre-refactor form "8080/tcp" names no real port: nothing of it is kept.
  EXPECT_EQ(format_virtual_ports(kernel_virtual_ports(true, {held("53/udp", 24004)}, "8080/tcp")),
            "53/udp=24004");
  EXPECT_TRUE(kernel_virtual_ports(false, {}, "8080/tcp").empty());
}

TEST(KernelVirtualPorts, CommandsEnvironmentCarriesTheWireFormOrKeepsTheInheritedOne) {
  ChildSettings settings;
  settings.shim_path = "/p/lib/libportsafe.so";
  settings.virtual_kernel_map = "8080/tcp=24002";
  EXPECT_EQ(values_of(build_child_environment({"PORTSAFE_VIRTUAL_KERNEL=9090/tcp=24001"}, settings),
                      "PORTSAFE_VIRTUAL_KERNEL"),
            std::vector<std::string>{"8080/tcp=24002"});
  settings.virtual_kernel_map.clear();
  EXPECT_EQ(values_of(build_child_environment({"PORTSAFE_VIRTUAL_KERNEL=9090/tcp=24001"}, settings),
                      "PORTSAFE_VIRTUAL_KERNEL"),
            std::vector<std::string>{"9090/tcp=24001"});
}

}  // namespace
}  // namespace portsafe::run
