// The UDP data path: datagrams from each client go out through that client's flow socket
// (connected to the container); the container's replies are sent back from the listening
// socket, from the address the client wrote to. One thread, one epoll set.
#pragma once

#include <chrono>
#include <vector>

#include "portsafe/unique_fd.hpp"
#include "proxy_options.hpp"
#include "relay.hpp"
#include "udp_flows.hpp"

namespace portsafe::docker_proxy {

class UdpRelay final : public Relay {
 public:
  UdpRelay(UniqueFd listener, const Endpoint& container, std::chrono::milliseconds idle);
  const char* run(int stop_fd) override;

 private:
  void receive_from_clients();
  void receive_from_container(uint64_t flow_id);
  UdpFlow* open_flow(const sockaddr_storage& client, socklen_t length, const ReplySource& source);
  void expire_idle_flows();

  UniqueFd listener_;
  UniqueFd epoll_;
  Endpoint container_;
  std::chrono::milliseconds idle_;
  UdpFlowTable flows_;
  uint64_t next_id_ = 1;
  int64_t next_sweep_ms_ = 0;
  std::vector<char> buffer_;
};

}  // namespace portsafe::docker_proxy
