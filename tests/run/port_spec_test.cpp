// --port/--listen/--handover specs, duplicate names, --linger and --job checks: bad input gets one line.
#include <gtest/gtest.h>

#include "run/run_options.hpp"

using namespace portsafe::run;
using portsafe::Protocol;

TEST(RunPortSpec, NameWithOptionalProtocol) {
  auto tcp = parse_port_spec("db-main_2", false);
  ASSERT_TRUE(tcp.ok()) << tcp.error;
  EXPECT_EQ(tcp.value->name, "db-main_2");
  EXPECT_EQ(tcp.value->proto, Protocol::tcp);
  EXPECT_FALSE(tcp.value->listen);

  auto udp = parse_port_spec("dns/udp", true);
  ASSERT_TRUE(udp.ok()) << udp.error;
  EXPECT_EQ(udp.value->name, "dns");
  EXPECT_EQ(udp.value->proto, Protocol::udp);
  EXPECT_TRUE(udp.value->listen);

  EXPECT_EQ(parse_port_spec("web/tcp", false).value->proto, Protocol::tcp);
}

TEST(RunPortSpec, BadNamesAndProtocolsAreRefused) {
  for (const char* text : {"", "/udp", "a b", "a.b", "{{x}}", "db/sctp", "db/", "é"}) {
    auto spec = parse_port_spec(text, false);
    EXPECT_FALSE(spec.ok()) << text;
    EXPECT_EQ(spec.error.find('\n'), std::string::npos);
    EXPECT_NE(spec.error.find("--port"), std::string::npos) << spec.error;
  }
}

TEST(RunPortSpec, HandoverIsMarkedAndNamedInErrors) {
  auto spec = parse_port_spec("web/udp", false, true);
  ASSERT_TRUE(spec.ok()) << spec.error;
  EXPECT_TRUE(spec.value->handover);
  EXPECT_FALSE(spec.value->listen);
  EXPECT_EQ(spec.value->proto, Protocol::udp);
  EXPECT_FALSE(parse_port_spec("web", false).value->handover);
  auto bad = parse_port_spec("a b", false, true);
  EXPECT_NE(bad.error.find("--handover"), std::string::npos) << bad.error;
}

TEST(RunPortSpec, EnvironmentKey) {
  EXPECT_EQ(port_env_key("db-main"), "DB_MAIN");
  EXPECT_EQ(port_env_key("Web_2"), "WEB_2");
}

TEST(RunPortSpec, DuplicatesCollideByEnvironmentName) {
  const PortSpec web{"web", Protocol::tcp, false};
  EXPECT_FALSE(find_duplicate_name({web, {"db", Protocol::tcp, false}}));
  EXPECT_TRUE(find_duplicate_name({web, {"WEB", Protocol::tcp, true}}));
  EXPECT_TRUE(find_duplicate_name({{"a-b", Protocol::tcp, false}, {"a_b", Protocol::tcp, false}}));
  EXPECT_TRUE(find_duplicate_name({web, {"web", Protocol::udp, false}}));
}

TEST(RunLinger, WholeSecondsUpToADay) {
  EXPECT_EQ(*parse_linger("0").value, 0u);
  EXPECT_EQ(*parse_linger("86400").value, 86400u);
  for (const char* text : {"", "-1", "1.5", "86401", "ten", "5s"}) EXPECT_FALSE(parse_linger(text).ok()) << text;
}

TEST(RunJobName, PrintableAndBounded) {
  EXPECT_FALSE(check_job_name("github:test/123/1"));
  EXPECT_TRUE(check_job_name(""));
  EXPECT_TRUE(check_job_name("a\nb"));
  EXPECT_TRUE(check_job_name(std::string(201, 'x')));
}
