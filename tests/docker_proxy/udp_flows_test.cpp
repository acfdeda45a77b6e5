// UDP flows: one per client address, found again by that address, expired after the idle time.
#include "udp_flows.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <stdlib.h>

namespace portsafe::docker_proxy {
namespace {

sockaddr_storage client(uint16_t port, socklen_t& length) {
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  v4->sin_family = AF_INET;
  v4->sin_port = htons(port);
  v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  length = sizeof(sockaddr_in);
  return storage;
}

UdpFlow make_flow(uint64_t id, uint16_t port, int64_t now) {
  UdpFlow flow;
  flow.id = id;
  flow.client = client(port, flow.client_length);
  flow.last_active_ms = now;
  return flow;
}

TEST(UdpFlowTable, FindsFlowsByClientAddress) {
  UdpFlowTable table;
  table.insert(make_flow(1, 5000, 0));
  table.insert(make_flow(2, 5001, 0));
  socklen_t length = 0;
  const auto a = client(5000, length);
  ASSERT_NE(table.find(a, length), nullptr);
  EXPECT_EQ(table.find(a, length)->id, 1u);
  const auto b = client(5001, length);
  EXPECT_EQ(table.find(b, length)->id, 2u);
  const auto c = client(5002, length);
  EXPECT_EQ(table.find(c, length), nullptr);
}

TEST(UdpFlowTable, ExpiresOnlyIdleFlows) {
  UdpFlowTable table;
  table.insert(make_flow(1, 5000, 0));
  table.insert(make_flow(2, 5001, 50'000));
  const auto gone = table.expire(90'000, std::chrono::milliseconds(90'000));
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0], 1u);
  EXPECT_EQ(table.size(), 1u);
  socklen_t length = 0;
  const auto a = client(5000, length);
  EXPECT_EQ(table.find(a, length), nullptr);  // a new datagram from it opens a new flow
  EXPECT_TRUE(table.expire(139'999, std::chrono::milliseconds(90'000)).empty());
  EXPECT_EQ(table.expire(140'000, std::chrono::milliseconds(90'000)).size(), 1u);
}

TEST(UdpFlowTable, RemoveForgetsTheClient) {
  UdpFlowTable table;
  table.insert(make_flow(7, 6000, 0));
  table.remove(7);
  socklen_t length = 0;
  const auto a = client(6000, length);
  EXPECT_EQ(table.find(a, length), nullptr);
  EXPECT_EQ(table.find_id(7), nullptr);
}

TEST(UdpIdleTimeout, DefaultsToDockerProxys90Seconds) {
  ::unsetenv("PORTSAFE_DOCKER_PROXY_UDP_IDLE_MS");
  EXPECT_EQ(udp_idle_timeout(), std::chrono::milliseconds(90'000));
  ::setenv("PORTSAFE_DOCKER_PROXY_UDP_IDLE_MS", "250", 1);
  EXPECT_EQ(udp_idle_timeout(), std::chrono::milliseconds(250));
  ::setenv("PORTSAFE_DOCKER_PROXY_UDP_IDLE_MS", "soon", 1);
  EXPECT_EQ(udp_idle_timeout(), std::chrono::milliseconds(90'000));
  ::unsetenv("PORTSAFE_DOCKER_PROXY_UDP_IDLE_MS");
}

}  // namespace
}  // namespace portsafe::docker_proxy
