// The docker-proxy command line as dockerd passes it (Go flag syntax), and its strict errors.
#include "proxy_options.hpp"

#include <gtest/gtest.h>

namespace portsafe::docker_proxy {
namespace {

using Action = ParseOutcome::Action;

ParseOutcome parse(std::vector<std::string> args) { return parse_proxy_options(args); }

TEST(ProxyOptions, ParsesDockerd2010Argv) {
  const auto out = parse({"-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "8080", "-container-ip", "172.17.0.2",
                          "-container-port", "80"});
  ASSERT_EQ(out.action, Action::run) << out.error;
  EXPECT_EQ(out.options.proto, ProxyProtocol::tcp);
  EXPECT_EQ(out.options.host_port, 8080);
  EXPECT_EQ(out.options.container_port, 80);
  EXPECT_FALSE(out.options.use_listen_fd);
  EXPECT_EQ(format_endpoint(out.options.host), "0.0.0.0:8080");
  EXPECT_EQ(format_endpoint(out.options.container), "172.17.0.2:80");
}

TEST(ProxyOptions, ParsesDockerd28ArgvWithListenFd) {
  const auto out = parse({"-proto", "udp", "-host-ip", "::", "-host-port", "53", "-container-ip", "fd00::2",
                          "-container-port", "5353", "-use-listen-fd"});
  ASSERT_EQ(out.action, Action::run) << out.error;
  EXPECT_EQ(out.options.proto, ProxyProtocol::udp);
  EXPECT_TRUE(out.options.use_listen_fd);
  EXPECT_EQ(format_endpoint(out.options.host), "[::]:53");
  EXPECT_EQ(format_endpoint(out.options.container), "[fd00::2]:5353");
}

TEST(ProxyOptions, AcceptsEveryGoFlagSpelling) {
  const auto out = parse({"--proto=udp", "-host-port=1234", "--container-ip", "127.0.0.2", "-container-port", "7",
                          "--use-listen-fd=false"});
  ASSERT_EQ(out.action, Action::run) << out.error;
  EXPECT_EQ(out.options.proto, ProxyProtocol::udp);
  EXPECT_EQ(out.options.host_port, 1234);
  EXPECT_FALSE(out.options.use_listen_fd);
}

TEST(ProxyOptions, MissingHostIpMeansWildcardOfTheContainersFamily) {
  auto out = parse({"-host-port", "80", "-container-ip", "10.0.0.2", "-container-port", "80"});
  ASSERT_EQ(out.action, Action::run) << out.error;
  EXPECT_EQ(format_endpoint(out.options.host), "0.0.0.0:80");
  out = parse({"-host-port", "80", "-container-ip", "fd00::2", "-container-port", "80"});
  ASSERT_EQ(out.action, Action::run) << out.error;
  EXPECT_EQ(format_endpoint(out.options.host), "[::]:80");
}

TEST(ProxyOptions, ListenFdModeNeedsNoHostPort) {
  const auto out = parse({"-container-ip", "10.0.0.2", "-container-port", "80", "-use-listen-fd"});
  EXPECT_EQ(out.action, Action::run) << out.error;
}

TEST(ProxyOptions, VersionAndHelp) {
  EXPECT_EQ(parse({"-v"}).action, Action::print_version);
  EXPECT_EQ(parse({"--version"}).action, Action::print_version);
  EXPECT_EQ(parse({"-v=false", "-h"}).action, Action::print_help);
  EXPECT_EQ(parse({"-help"}).action, Action::print_help);
}

TEST(ProxyOptions, SctpParsesSoItCanBeRefusedOnTheStatusPipe) {
  const auto out = parse({"-proto", "sctp", "-host-port", "1"});
  ASSERT_EQ(out.action, Action::run);
  EXPECT_EQ(out.options.proto, ProxyProtocol::sctp);
}

struct BadCase {
  std::vector<std::string> args;
  const char* fragment;
};

class ProxyOptionsErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ProxyOptionsErrors, AreOneLineNamingTheProblem) {
  const auto out = parse(GetParam().args);
  EXPECT_EQ(out.action, Action::usage_error);
  EXPECT_NE(out.error.find(GetParam().fragment), std::string::npos) << out.error;
  EXPECT_EQ(out.error.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    All, ProxyOptionsErrors,
    ::testing::Values(
        BadCase{{"-nope"}, "flag provided but not defined: -nope"},
        BadCase{{"-host-port"}, "flag needs an argument"},
        BadCase{{"-host-port", "x", "-container-ip", "1.2.3.4", "-container-port", "1"}, "not a number"},
        BadCase{{"-host-port", "65536", "-container-ip", "1.2.3.4", "-container-port", "1"}, "give a port"},
        BadCase{{"-host-port", "1", "-container-ip", "1.2.3.4", "-container-port", "0"}, "give a port"},
        BadCase{{"-host-port", "1", "-container-ip", "1.2.3.4"}, "-container-port is required"},
        BadCase{{"-container-ip", "1.2.3.4", "-container-port", "1"}, "-host-port is required"},
        BadCase{{"-host-port", "1", "-container-port", "1"}, "-container-ip is required"},
        BadCase{{"-host-port", "1", "-container-ip", "db", "-container-port", "1"}, "not a numeric"},
        BadCase{{"-proto", "quic"}, "unknown protocol"},
        BadCase{{"-use-listen-fd=2"}, "invalid boolean"},
        BadCase{{"---proto", "tcp"}, "bad flag syntax"},
        BadCase{{"-=x"}, "bad flag syntax"},
        BadCase{{"positional"}, "unexpected argument"},
        BadCase{{"--", "x"}, "unexpected argument"}));

TEST(Endpoint, ParsesBracketedIpv6) {
  Endpoint e;
  ASSERT_TRUE(make_endpoint("[::1]", 80, e));
  EXPECT_EQ(format_endpoint(e), "[::1]:80");
  EXPECT_FALSE(make_endpoint("example.com", 80, e));
}

}  // namespace
}  // namespace portsafe::docker_proxy
