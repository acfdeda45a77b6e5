// UDP has no connections, so the proxy keeps one "flow" per client address: a socket connected
// to the container that carries that client's datagrams, and whose replies go back to it. A
// flow idle (no datagram either way) for the timeout is dropped, like docker-proxy's 90 s
// conntrack timeout. The clock is passed in so expiry can be tested without waiting.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "portsafe/unique_fd.hpp"

namespace portsafe::docker_proxy {

inline constexpr std::chrono::milliseconds kDefaultUdpIdle{90'000};

// The idle timeout: PORTSAFE_DOCKER_PROXY_UDP_IDLE_MS (hidden, for tests) or 90 s.
std::chrono::milliseconds udp_idle_timeout();

// Where a reply must come from: the local address the client's datagram was sent to (from
// IP_PKTINFO / IPV6_PKTINFO), so a wildcard-bound socket answers from the right address.
struct ReplySource {
  int level = 0;
  int type = 0;
  size_t length = 0;  // 0: no ancillary data to send (IPPROTO_IP is level 0 too)
  uint8_t data[sizeof(in6_pktinfo)] = {};
};

struct UdpFlow {
  uint64_t id = 0;
  UniqueFd backend;
  sockaddr_storage client{};
  socklen_t client_length = 0;
  ReplySource source;
  int64_t last_active_ms = 0;
};

class UdpFlowTable {
 public:
  // The flow of a client address, or nullptr.
  UdpFlow* find(const sockaddr_storage& client, socklen_t length);
  UdpFlow* find_id(uint64_t id);
  UdpFlow& insert(UdpFlow flow);
  void remove(uint64_t id);
  // Removes flows idle for at least `idle`; returns their ids (their sockets are closed).
  std::vector<uint64_t> expire(int64_t now_ms, std::chrono::milliseconds idle);
  size_t size() const { return flows_.size(); }

 private:
  static std::string key_of(const sockaddr_storage& client, socklen_t length);
  std::map<std::string, uint64_t> by_client_;
  std::map<uint64_t, UdpFlow> flows_;
};

}  // namespace portsafe::docker_proxy
