// PORTSAFE_VIRTUAL_KERNEL as the claim rules read it: "8080/tcp,53/udp", tcp by default, a
// malformed entry matching nothing while the others still count.
#include "portsafe/kernel_virtual_ports.hpp"

#include <gtest/gtest.h>

using portsafe::kernel_virtual_list_contains;
using portsafe::Protocol;

TEST(KernelVirtualPorts, ListsPortsPerProtocol) {
  const char* list = "8080/tcp,53/udp,6379";
  EXPECT_TRUE(kernel_virtual_list_contains(list, Protocol::tcp, 8080));
  EXPECT_TRUE(kernel_virtual_list_contains(list, Protocol::udp, 53));
  EXPECT_TRUE(kernel_virtual_list_contains(list, Protocol::tcp, 6379));
  EXPECT_FALSE(kernel_virtual_list_contains(list, Protocol::udp, 8080));
  EXPECT_FALSE(kernel_virtual_list_contains(list, Protocol::tcp, 53));
  EXPECT_FALSE(kernel_virtual_list_contains(list, Protocol::tcp, 808));
  EXPECT_FALSE(kernel_virtual_list_contains(list, Protocol::tcp, 80800 % 65536));
}

TEST(KernelVirtualPorts, MalformedEntriesMatchNothing) {
  EXPECT_FALSE(kernel_virtual_list_contains(nullptr, Protocol::tcp, 8080));
  EXPECT_FALSE(kernel_virtual_list_contains("", Protocol::tcp, 8080));
  EXPECT_FALSE(kernel_virtual_list_contains("8080/sctp", Protocol::tcp, 8080));
  EXPECT_FALSE(kernel_virtual_list_contains("80x80", Protocol::tcp, 80));
  EXPECT_FALSE(kernel_virtual_list_contains("70000", Protocol::tcp, 70000 % 65536));
  EXPECT_FALSE(kernel_virtual_list_contains("1234567", Protocol::tcp, 12345));
  EXPECT_TRUE(kernel_virtual_list_contains("junk,,8080/tcp", Protocol::tcp, 8080));
  EXPECT_TRUE(kernel_virtual_list_contains("8080/sctp,9090", Protocol::tcp, 9090));
}
