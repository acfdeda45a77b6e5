#include "udp_flows.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace portsafe::docker_proxy {

std::chrono::milliseconds udp_idle_timeout() {
  const char* text = std::getenv("PORTSAFE_DOCKER_PROXY_UDP_IDLE_MS");
  if (text == nullptr) return kDefaultUdpIdle;
  long value = 0;
  const auto [end, ec] = std::from_chars(text, text + std::strlen(text), value);
  if (ec != std::errc{} || *end != '\0' || value <= 0) return kDefaultUdpIdle;
  return std::chrono::milliseconds(value);
}

std::string UdpFlowTable::key_of(const sockaddr_storage& client, socklen_t length) {
  // Address family, port and address are what identify a client; padding is zero-filled by
  // the kernel, so the raw bytes are a stable key.
  return std::string(reinterpret_cast<const char*>(&client), length);
}

UdpFlow* UdpFlowTable::find(const sockaddr_storage& client, socklen_t length) {
  const auto it = by_client_.find(key_of(client, length));
  return it == by_client_.end() ? nullptr : find_id(it->second);
}

UdpFlow* UdpFlowTable::find_id(uint64_t id) {
  const auto it = flows_.find(id);
  return it == flows_.end() ? nullptr : &it->second;
}

UdpFlow& UdpFlowTable::insert(UdpFlow flow) {
  const uint64_t id = flow.id;
  by_client_[key_of(flow.client, flow.client_length)] = id;
  return flows_.insert_or_assign(id, std::move(flow)).first->second;
}

void UdpFlowTable::remove(uint64_t id) {
  const auto it = flows_.find(id);
  if (it == flows_.end()) return;
  by_client_.erase(key_of(it->second.client, it->second.client_length));
  flows_.erase(it);
}

std::vector<uint64_t> UdpFlowTable::expire(int64_t now_ms, std::chrono::milliseconds idle) {
  std::vector<uint64_t> gone;
  for (const auto& [id, flow] : flows_) {
    if (now_ms - flow.last_active_ms >= idle.count()) gone.push_back(id);
  }
  for (uint64_t id : gone) remove(id);
  return gone;
}

}  // namespace portsafe::docker_proxy
