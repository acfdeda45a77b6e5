// --virtual PORT[/proto] and --virtual-mode: what is accepted, what is refused (and why), the
// label the supervisor stores, and PORTSAFE_VIRTUAL's exact format for the shim.
#include "run/virtual_options.hpp"

#include <gtest/gtest.h>

#include "portsafe/virtual_label.hpp"
#include "run/job_session.hpp"

using namespace portsafe;
using namespace portsafe::run;

TEST(VirtualSpec, PortAndProtocol) {
  const auto tcp = parse_virtual_spec("8080");
  ASSERT_TRUE(tcp.ok()) << tcp.error;
  EXPECT_EQ(tcp.value->virtual_port, 8080);
  EXPECT_EQ(tcp.value->proto, Protocol::tcp);
  EXPECT_EQ(tcp.value->name, "virtual 8080");
  const auto udp = parse_virtual_spec("53/udp");
  ASSERT_TRUE(udp.ok()) << udp.error;
  EXPECT_EQ(udp.value->virtual_port, 53);
  EXPECT_EQ(udp.value->proto, Protocol::udp);
  EXPECT_EQ(parse_virtual_spec("65535/tcp").value->virtual_port, 65535);
}

TEST(VirtualSpec, RefusesWhatIsNoPort) {
  for (const char* text : {"0", "65536", "99999999999", "", "http", "80a", "-1", " 80", "80/", "80/sctp", "/udp"}) {
    const auto parsed = parse_virtual_spec(text);
    EXPECT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error.find("--virtual"), std::string::npos) << parsed.error;
  }
}

TEST(VirtualSpec, RefusesTwiceAndClashesWithPortNames) {
  std::vector<PortSpec> ports{*parse_virtual_spec("53").value, *parse_virtual_spec("53/udp").value};
  ASSERT_TRUE(check_virtual_ports(ports).has_value());
  EXPECT_NE(check_virtual_ports(ports)->find("given twice"), std::string::npos);

  PortSpec named;
  named.name = "8080";
  std::vector<PortSpec> clash{named, *parse_virtual_spec("8080").value};
  ASSERT_TRUE(check_virtual_ports(clash).has_value());

  PortSpec web;
  web.name = "web";
  std::vector<PortSpec> fine{web, *parse_virtual_spec("8080").value, *parse_virtual_spec("53/udp").value};
  EXPECT_FALSE(check_virtual_ports(fine).has_value());
}

TEST(VirtualSpec, AtMost256) {
  std::vector<PortSpec> ports;
  for (int port = 1; port <= static_cast<int>(kMaxVirtualPorts); ++port) {
    ports.push_back(*parse_virtual_spec(std::to_string(port)).value);
  }
  EXPECT_FALSE(check_virtual_ports(ports).has_value());
  ports.push_back(*parse_virtual_spec("9999").value);
  ASSERT_TRUE(check_virtual_ports(ports).has_value());
  EXPECT_NE(check_virtual_ports(ports)->find("at most 256"), std::string::npos);
}

TEST(VirtualMode, Names) {
  EXPECT_EQ(parse_virtual_mode("auto"), VirtualMode::automatic);
  EXPECT_EQ(parse_virtual_mode("bpf"), VirtualMode::bpf);
  EXPECT_EQ(parse_virtual_mode("shim"), VirtualMode::shim);
  EXPECT_FALSE(parse_virtual_mode("ebpf").has_value());
  EXPECT_FALSE(parse_virtual_mode("").has_value());
}

TEST(VirtualEnvironment, ShimFormatSkipsNamedPorts) {
  PortSpec web;
  web.name = "web";
  const std::vector<HeldPort> held{{*parse_virtual_spec("8080").value, 23456},
                                   {web, 20001},
                                   {*parse_virtual_spec("53/udp").value, 23457}};
  EXPECT_EQ(format_virtual_environment(held), "8080/tcp=23456,53/udp=23457");
  EXPECT_EQ(format_virtual_environment({{web, 20001}}), "");
}

TEST(VirtualLabel, RoundTripAndNamedPortsAreNotVirtual) {
  EXPECT_EQ(parse_virtual_label(format_virtual_label(8080)), 8080);
  EXPECT_FALSE(parse_virtual_label("8080").has_value());
  EXPECT_FALSE(parse_virtual_label("web").has_value());
  EXPECT_FALSE(parse_virtual_label("virtual ").has_value());
  EXPECT_FALSE(parse_virtual_label("virtual 0").has_value());
  EXPECT_FALSE(parse_virtual_label("virtual 70000").has_value());
  EXPECT_FALSE(parse_virtual_label("web -> 172.17.0.2:80").has_value());
}
