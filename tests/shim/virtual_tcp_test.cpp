// TCP through a virtual port: bind(8080) lands on the real port, connect(local:8080) reaches it,
// and every address the program reads back says 8080. IPv4, IPv6, v4-mapped, wildcard targets.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "virtual_fixture.hpp"

namespace portsafe::virtual_test {
namespace {

struct Case {
  int family;
  const char* bind_host;
  const char* connect_host;
};

class VirtualTcp : public ::testing::TestWithParam<Case> {};

TEST_P(VirtualTcp, ServerAndClientMeetOnTheRealPortAndSeeTheVirtualOne) {
  const Case c = GetParam();
  const int server = bound_virtual(c.family, SOCK_STREAM, c.bind_host);
  EXPECT_EQ(kernel_local_port(server), kRealTcp);
  EXPECT_EQ(reported_local_port(server), kVirtual);

  const int client = ::socket(c.family, SOCK_STREAM, 0);
  const sockaddr_storage target = address(c.family, c.connect_host, kVirtual);
  ASSERT_EQ(::connect(client, as_sockaddr(target), length_of(target)), 0) << c.connect_host << ": " << std::strerror(errno);
  EXPECT_EQ(kernel_peer_port(client), kRealTcp);
  EXPECT_EQ(reported_peer_port(client), kVirtual);

  sockaddr_storage peer{};
  socklen_t peer_length = sizeof peer;
  const int accepted = ::accept(server, as_sockaddr(peer), &peer_length);
  ASSERT_GE(accepted, 0);
  EXPECT_EQ(port_of(peer), reported_local_port(client));  // the client's own port is no virtual one
  EXPECT_EQ(reported_local_port(accepted), kVirtual);
  EXPECT_EQ(kernel_local_port(accepted), kRealTcp);
  // The client closes first, so TIME_WAIT stays on its own port, not on the real one the next
  // case binds (without SO_REUSEADDR).
  ::close(client);
  ::close(accepted);
  ::close(server);
}

INSTANTIATE_TEST_SUITE_P(Families, VirtualTcp,
                         ::testing::Values(Case{AF_INET, "127.0.0.1", "127.0.0.1"}, Case{AF_INET, "0.0.0.0", "127.0.0.2"},
                                           Case{AF_INET, "0.0.0.0", "0.0.0.0"}, Case{AF_INET6, "::1", "::1"},
                                           Case{AF_INET6, "::", "::ffff:127.0.0.1"}, Case{AF_INET6, "::", "::"}));

TEST(VirtualTcpPorts, OtherPortsAreUntouched) {
  const int server = ::socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_storage addr = address(AF_INET, "127.0.0.1", 8081);
  ASSERT_EQ(::bind(server, as_sockaddr(addr), length_of(addr)), 0);
  EXPECT_EQ(kernel_local_port(server), 8081);
  EXPECT_EQ(reported_local_port(server), 8081);
  ::close(server);
}

TEST(VirtualTcpPorts, AUdpOnlyVirtualPortIsNotRewrittenForTcp) {
  // 5353 is virtual for UDP only.
  const int server = ::socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_storage addr = address(AF_INET, "127.0.0.1", 5353);
  ASSERT_EQ(::bind(server, as_sockaddr(addr), length_of(addr)), 0);
  EXPECT_EQ(kernel_local_port(server), 5353);
  ::close(server);
}

}  // namespace
}  // namespace portsafe::virtual_test
