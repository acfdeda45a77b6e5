// The virtual-port decisions every rewriting tier shares (portsafe/virtual_ports.hpp): the wire
// form, the lookups both ways, what counts as local, and each rewrite.
#include "portsafe/virtual_ports.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

namespace portsafe {
namespace {

sockaddr_in v4(const char* address, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  EXPECT_EQ(::inet_pton(AF_INET, address, &addr.sin_addr), 1) << address;
  return addr;
}

sockaddr_in6 v6(const char* address, uint16_t port) {
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(port);
  EXPECT_EQ(::inet_pton(AF_INET6, address, &addr.sin6_addr), 1) << address;
  return addr;
}

template <typename Addr>
const sockaddr* as_sockaddr(const Addr& addr) {
  return reinterpret_cast<const sockaddr*>(&addr);
}

uint16_t port_of(const sockaddr_storage& addr) {
  return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);  // same offset in both families
}

VirtualPorts parsed(const char* text) {
  const VirtualPortsParse parse = parse_virtual_ports(text);
  EXPECT_EQ(parse.error, nullptr) << text << ": " << parse.error;
  return parse.ports;
}

TEST(VirtualPortsParse, ReadsTheLauncherFormatBothProtocols) {
  const VirtualPorts ports = parsed("8080/tcp=23456,53/udp=23457");
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports.real_port(Protocol::tcp, 8080), 23456);
  EXPECT_EQ(ports.real_port(Protocol::udp, 53), 23457);
  EXPECT_EQ(ports.real_port(Protocol::udp, 8080), std::nullopt);  // tcp only
  EXPECT_EQ(ports.virtual_port(Protocol::tcp, 23456), 8080);
  EXPECT_EQ(ports.virtual_port(Protocol::tcp, 23457), std::nullopt);
  EXPECT_TRUE(ports.is_virtual_port(53));
  EXPECT_TRUE(ports.is_real_port(23457));
  EXPECT_FALSE(ports.is_real_port(8080));
}

TEST(VirtualPortsParse, ProtocolDefaultsToTcp) {
  EXPECT_EQ(parsed("6379=24000").real_port(Protocol::tcp, 6379), 24000);
}

TEST(VirtualPortsParse, EmptyTextIsAnEmptyTable) { EXPECT_TRUE(parsed("").empty()); }

TEST(VirtualPortsParse, AnyBadEntryEmptiesTheTableAndNamesTheEntry) {
  for (const char* text : {"8080", "8080=", "=23456", "8080/sctp=23456", "0=23456", "8080=70000", "8080=12x",
                           "8080/tcp=23456,", "8080=23456,,53/udp=1", "8080=23456,8080=23457", "8080=23456,9090=23456",
                           "8080=23456,23456=9090", "8080=8080"}) {
    const VirtualPortsParse parse = parse_virtual_ports(text);
    EXPECT_NE(parse.error, nullptr) << text;
    EXPECT_TRUE(parse.ports.empty()) << text;
  }
  const VirtualPortsParse parse = parse_virtual_ports("8080/tcp=23456,53/dns=5");
  EXPECT_EQ(parse.bad_entry, "53/dns=5");
  const std::string line =
      describe_virtual_ports_error("PORTSAFE_VIRTUAL", "8080/tcp=23456,53/dns=5", parse, "no port is virtualized");
  EXPECT_NE(line.find("PORTSAFE_VIRTUAL=8080/tcp=23456,53/dns=5"), std::string::npos) << line;
  EXPECT_NE(line.find("'53/dns=5'"), std::string::npos) << line;
}

TEST(VirtualPortsParse, TheSamePortMayBeVirtualForEachProtocol) {
  const VirtualPorts ports = parsed("53/tcp=23456,53/udp=23456");
  EXPECT_EQ(ports.real_port(Protocol::tcp, 53), 23456);
  EXPECT_EQ(ports.real_port(Protocol::udp, 53), 23456);
}

TEST(VirtualPortsParse, HoldsUpToItsCapacityAndRefusesMore) {
  std::string text;
  for (unsigned i = 0; i < VirtualPorts::kCapacity; ++i) {
    // Appended piece by piece: GCC 12 at -O3 flags `"," + std::string` with a false -Wrestrict.
    if (i != 0) text += ',';
    text += std::to_string(1000 + i);
    text += '=';
    text += std::to_string(30000 + i);
  }
  EXPECT_EQ(parse_virtual_ports(text).ports.size(), VirtualPorts::kCapacity);
  const VirtualPortsParse over = parse_virtual_ports(text + ",5000=40000");
  EXPECT_NE(over.error, nullptr);
  EXPECT_TRUE(over.ports.empty());
}

TEST(VirtualPortsFormat, RoundTripsThroughTheParser) {
  const VirtualPorts ports = parsed("8080=23456,53/udp=23457");
  const std::string text = format_virtual_ports(ports);
  EXPECT_EQ(text, "8080/tcp=23456,53/udp=23457");
  const VirtualPorts again = parsed(text.c_str());
  EXPECT_EQ(format_virtual_ports(again), text);
}

TEST(VirtualPortsFormat, AFixedBufferIsCutAndTerminated) {
  const VirtualPorts ports = parsed("8080=23456,53/udp=23457");
  char small[10];
  std::memset(small, 'x', sizeof small);
  const std::size_t needed = format_virtual_ports(ports, small, sizeof small);
  EXPECT_EQ(needed, std::string("8080/tcp=23456,53/udp=23457").size());
  EXPECT_STREQ(small, "8080/tcp=");
}

TEST(LocalAddress, LoopbackAndWildcardsOfBothFamiliesAreLocal) {
  for (const char* address : {"127.0.0.1", "127.1.2.3", "0.0.0.0"}) {
    const sockaddr_in addr = v4(address, 1);
    EXPECT_TRUE(is_local_address(as_sockaddr(addr), sizeof addr, nullptr)) << address;
  }
  for (const char* address : {"::1", "::", "::ffff:127.0.0.1", "::ffff:127.9.9.9", "::ffff:0.0.0.0"}) {
    const sockaddr_in6 addr = v6(address, 1);
    EXPECT_TRUE(is_local_address(as_sockaddr(addr), sizeof addr, nullptr)) << address;
  }
  for (const char* address : {"10.0.0.1", "128.0.0.1", "192.168.1.1"}) {
    const sockaddr_in addr = v4(address, 1);
    EXPECT_FALSE(is_local_address(as_sockaddr(addr), sizeof addr, nullptr)) << address;
  }
  for (const char* address : {"::2", "fe80::1", "::ffff:10.0.0.1", "2001:db8::1"}) {
    const sockaddr_in6 addr = v6(address, 1);
    EXPECT_FALSE(is_local_address(as_sockaddr(addr), sizeof addr, nullptr)) << address;
  }
}

TEST(LocalAddress, InterfaceAddressesCountWhenKnown) {
  LocalAddresses interfaces;
  interfaces.add_v4(v4("10.1.2.3", 0).sin_addr.s_addr);
  interfaces.add_v6(v6("2001:db8::7", 0).sin6_addr.s6_addr);
  const sockaddr_in mine = v4("10.1.2.3", 1);
  const sockaddr_in other = v4("10.1.2.4", 1);
  const sockaddr_in6 mine6 = v6("2001:db8::7", 1);
  const sockaddr_in6 mapped = v6("::ffff:10.1.2.3", 1);
  EXPECT_TRUE(is_local_address(as_sockaddr(mine), sizeof mine, &interfaces));
  EXPECT_FALSE(is_local_address(as_sockaddr(mine), sizeof mine, nullptr));
  EXPECT_FALSE(is_local_address(as_sockaddr(other), sizeof other, &interfaces));
  EXPECT_TRUE(is_local_address(as_sockaddr(mine6), sizeof mine6, &interfaces));
  EXPECT_TRUE(is_local_address(as_sockaddr(mapped), sizeof mapped, &interfaces));
}

TEST(LocalAddress, ShortOrForeignAddressesAreNot) {
  const sockaddr_in addr = v4("127.0.0.1", 1);
  EXPECT_FALSE(is_local_address(as_sockaddr(addr), sizeof addr - 1, nullptr));
  sockaddr unix_addr{};
  unix_addr.sa_family = AF_UNIX;
  EXPECT_FALSE(is_local_address(&unix_addr, sizeof unix_addr, nullptr));
  EXPECT_FALSE(is_local_address(nullptr, 0, nullptr));
}

TEST(LocalAddress, ThisNamespaceInterfacesAreRead) {
  // The test runs in its own network namespace with loopback up (tests/lib/in_netns.sh) or on
  // the host: either way 127.0.0.1 and (when IPv6 is on) ::1 are interface addresses.
  const LocalAddresses local = read_interface_addresses();
  ASSERT_GE(local.v4_count, 1u);
  const uint32_t loopback = htonl(INADDR_LOOPBACK);
  bool found = false;
  for (std::size_t i = 0; i < local.v4_count; ++i) found = found || local.v4[i] == loopback;
  EXPECT_TRUE(found);
}

TEST(VirtualRewrite, BindRewritesAnyAddressOfTheRightProtocol) {
  const VirtualPorts ports = parsed("8080/tcp=23456,53/udp=23457");
  sockaddr_storage out{};
  const sockaddr_in remote = v4("10.0.0.1", 8080);  // bind: the kernel decides what is local
  const auto length = rewrite_bind_address(ports, Protocol::tcp, as_sockaddr(remote), sizeof remote, out);
  ASSERT_TRUE(length);
  EXPECT_EQ(*length, sizeof remote);
  EXPECT_EQ(port_of(out), 23456);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in&>(out).sin_addr.s_addr, remote.sin_addr.s_addr);
  EXPECT_FALSE(rewrite_bind_address(ports, Protocol::udp, as_sockaddr(remote), sizeof remote, out));
  const sockaddr_in6 any6 = v6("::", 53);
  ASSERT_TRUE(rewrite_bind_address(ports, Protocol::udp, as_sockaddr(any6), sizeof any6, out));
  EXPECT_EQ(port_of(out), 23457);
  const sockaddr_in other = v4("0.0.0.0", 8081);
  EXPECT_FALSE(rewrite_bind_address(ports, Protocol::tcp, as_sockaddr(other), sizeof other, out));
}

// bind()/connect() with an address longer than a sockaddr_storage fail with EINVAL in the
// kernel: left unchanged, not cut to 128 bytes and rewritten (which the kernel would accept).
TEST(VirtualRewrite, AnOverlongAddressIsNotRewritten) {
  const VirtualPorts ports = parsed("8080=23456");
  alignas(sockaddr_storage) unsigned char buffer[sizeof(sockaddr_storage) + 1] = {};
  const sockaddr_in local = v4("127.0.0.1", 8080);
  std::memcpy(buffer, &local, sizeof local);
  const auto* addr = reinterpret_cast<const sockaddr*>(buffer);
  sockaddr_storage out{};
  EXPECT_FALSE(rewrite_bind_address(ports, Protocol::tcp, addr, sizeof buffer, out));
  EXPECT_FALSE(rewrite_destination(ports, nullptr, Protocol::tcp, addr, sizeof buffer, out));
  EXPECT_TRUE(rewrite_bind_address(ports, Protocol::tcp, addr, sizeof(sockaddr_storage), out));
}

TEST(VirtualRewrite, DestinationsAreRewrittenOnlyWhenLocal) {
  const VirtualPorts ports = parsed("8080=23456");
  sockaddr_storage out{};
  for (const char* address : {"127.0.0.1", "0.0.0.0"}) {
    const sockaddr_in local = v4(address, 8080);
    ASSERT_TRUE(rewrite_destination(ports, nullptr, Protocol::tcp, as_sockaddr(local), sizeof local, out)) << address;
    EXPECT_EQ(port_of(out), 23456);
  }
  const sockaddr_in6 local6 = v6("::ffff:127.0.0.1", 8080);
  ASSERT_TRUE(rewrite_destination(ports, nullptr, Protocol::tcp, as_sockaddr(local6), sizeof local6, out));
  EXPECT_EQ(port_of(out), 23456);
  const sockaddr_in remote = v4("192.0.2.1", 8080);
  EXPECT_FALSE(rewrite_destination(ports, nullptr, Protocol::tcp, as_sockaddr(remote), sizeof remote, out));
}

TEST(VirtualRewrite, OwnAddressReportsTheVirtualPort) {
  const VirtualPorts ports = parsed("8080=23456");
  sockaddr_in mine = v4("192.0.2.1", 23456);  // its own address: local whatever it is
  EXPECT_TRUE(report_local_address(ports, Protocol::tcp, reinterpret_cast<sockaddr*>(&mine), sizeof mine));
  EXPECT_EQ(ntohs(mine.sin_port), 8080);
  sockaddr_in udp = v4("127.0.0.1", 23456);
  EXPECT_FALSE(report_local_address(ports, Protocol::udp, reinterpret_cast<sockaddr*>(&udp), sizeof udp));
  EXPECT_EQ(ntohs(udp.sin_port), 23456);
}

TEST(VirtualRewrite, PeerAddressReportsTheVirtualPortOnlyWhenLocal) {
  const VirtualPorts ports = parsed("53/udp=23457");
  sockaddr_in6 local = v6("::1", 23457);
  EXPECT_TRUE(report_peer_address(ports, nullptr, Protocol::udp, reinterpret_cast<sockaddr*>(&local), sizeof local));
  EXPECT_EQ(ntohs(local.sin6_port), 53);
  sockaddr_in remote = v4("192.0.2.1", 23457);
  EXPECT_FALSE(report_peer_address(ports, nullptr, Protocol::udp, reinterpret_cast<sockaddr*>(&remote), sizeof remote));
  EXPECT_EQ(ntohs(remote.sin_port), 23457);
}

}  // namespace
}  // namespace portsafe
