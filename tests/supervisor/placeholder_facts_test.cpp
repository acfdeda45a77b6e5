// The kernel facts held ports rest on, checked against the daemon's own placeholder code:
// a plain bind is refused, bind(0) never hands the port out, an SO_REUSEADDR consumer binds and
// listens; a wildcard UDP placeholder does not steal the consumer's datagrams (a specific one
// would, which is why the placeholder is the wildcard).
#include "placeholder.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <cstring>
#include <fstream>

#include "supervisor_fixture.hpp"

namespace portsafe::supervisor {
namespace {

using portsafe::testing::local_port;
using portsafe::testing::plain_bind_error;

constexpr uint16_t kPort = 21500;

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

UniqueFd reuse_socket(int type) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  return fd;
}

bool receives_within(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

void send_datagram(uint16_t port) {
  UniqueFd sender(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  const sockaddr_in to = loopback(port);
  ASSERT_EQ(::sendto(sender.get(), "x", 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to), 1);
}

TEST(PlaceholderFacts, PlainBindIsRefused) {
  Placeholders held;
  ASSERT_EQ(bind_placeholders(Protocol::tcp, kPort, held), 0);
  EXPECT_EQ(plain_bind_error(Protocol::tcp, kPort), EADDRINUSE);
  Placeholders udp;
  ASSERT_EQ(bind_placeholders(Protocol::udp, kPort, udp), 0);
  EXPECT_EQ(plain_bind_error(Protocol::udp, kPort), EADDRINUSE);
}

TEST(PlaceholderFacts, BindZeroNeverReturnsAHeldPort) {
  if (std::getenv("PORTSAFE_IN_NETNS") == nullptr) GTEST_SKIP() << "needs a private network namespace";
  // Shrink this namespace's ephemeral range to two ports and hold both: bind(0) has nothing left.
  {
    std::ofstream range("/proc/sys/net/ipv4/ip_local_port_range");
    range << "40000 40001";
  }
  Placeholders first, second;
  ASSERT_EQ(bind_placeholders(Protocol::tcp, 40000, first), 0);
  ASSERT_EQ(bind_placeholders(Protocol::tcp, 40001, second), 0);
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in any{};
  any.sin_family = AF_INET;
  EXPECT_NE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
  EXPECT_EQ(errno, EADDRINUSE);
  // With one of them released, bind(0) gets exactly that one, every time.
  second = Placeholders{};
  for (int i = 0; i < 10; ++i) {
    UniqueFd again(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::bind(again.get(), reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
    EXPECT_EQ(local_port(again.get()), 40001);
  }
}

TEST(PlaceholderFacts, ConnectNeverPicksAHeldPort) {
  if (std::getenv("PORTSAFE_IN_NETNS") == nullptr) GTEST_SKIP() << "needs a private network namespace";
  {
    std::ofstream range("/proc/sys/net/ipv4/ip_local_port_range");
    range << "40000 40001";
  }
  UniqueFd server = reuse_socket(SOCK_STREAM);
  const sockaddr_in addr = loopback(kPort);
  ASSERT_EQ(::bind(server.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(server.get(), 8), 0);
  Placeholders first, second;
  ASSERT_EQ(bind_placeholders(Protocol::tcp, 40000, first), 0);
  ASSERT_EQ(bind_placeholders(Protocol::tcp, 40001, second), 0);
  // Every ephemeral port is held: connect() finds no source port rather than taking a held one.
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_NE(::connect(client.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(errno, EADDRNOTAVAIL);
  second = Placeholders{};
  UniqueFd again(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(again.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(local_port(again.get()), 40001);
}

TEST(PlaceholderFacts, ReuseAddrConsumerBindsListensAndServes) {
  Placeholders held;
  ASSERT_EQ(bind_placeholders(Protocol::tcp, kPort, held), 0);
  SocketAddress address;
  ASSERT_TRUE(parse_bind_address("", kPort, address));
  UniqueFd consumer;
  ASSERT_EQ(bind_consumer(Protocol::tcp, address, true, consumer), 0);
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sockaddr_in to = loopback(kPort);
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
  UniqueFd accepted(::accept4(consumer.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_TRUE(accepted.valid());
  // The consumer exits: the placeholder still holds the port against plain binds.
  consumer.reset();
  accepted.reset();
  EXPECT_EQ(plain_bind_error(Protocol::tcp, kPort), EADDRINUSE);
}

TEST(PlaceholderFacts, WildcardUdpPlaceholderDoesNotStealDatagrams) {
  Placeholders held;
  ASSERT_EQ(bind_placeholders(Protocol::udp, kPort, held), 0);
  // A consumer on the specific address, and one on the wildcard bound after the placeholder.
  UniqueFd specific = reuse_socket(SOCK_DGRAM);
  const sockaddr_in addr = loopback(kPort);
  ASSERT_EQ(::bind(specific.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  send_datagram(kPort);
  EXPECT_TRUE(receives_within(specific.get(), 2000));
  EXPECT_FALSE(receives_within(held.v4.get(), 0));
}

TEST(PlaceholderFacts, SpecificUdpPlaceholderWouldSteal) {
  // Why the placeholder binds the wildcard: a specific one wins over a wildcard consumer.
  UniqueFd specific_placeholder = reuse_socket(SOCK_DGRAM);
  const sockaddr_in addr = loopback(kPort);
  ASSERT_EQ(::bind(specific_placeholder.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  UniqueFd wildcard_consumer = reuse_socket(SOCK_DGRAM);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(kPort);
  ASSERT_EQ(::bind(wildcard_consumer.get(), reinterpret_cast<const sockaddr*>(&any), sizeof any), 0);
  send_datagram(kPort);
  EXPECT_TRUE(receives_within(specific_placeholder.get(), 2000));
  EXPECT_FALSE(receives_within(wildcard_consumer.get(), 0));
}

TEST(PlaceholderFacts, ParsesBindAddresses) {
  SocketAddress address;
  EXPECT_TRUE(parse_bind_address("", 1, address));
  EXPECT_TRUE(is_wildcard(address));
  EXPECT_TRUE(parse_bind_address("127.0.0.1", 1, address));
  EXPECT_FALSE(is_wildcard(address));
  EXPECT_TRUE(parse_bind_address("::", 1, address));
  EXPECT_EQ(address.family, AF_INET6);
  EXPECT_TRUE(is_wildcard(address));
  EXPECT_TRUE(parse_bind_address("[::1]", 1, address));
  EXPECT_FALSE(parse_bind_address("localhost", 1, address));
  EXPECT_FALSE(parse_bind_address("1.2.3", 1, address));
}

}  // namespace
}  // namespace portsafe::supervisor
