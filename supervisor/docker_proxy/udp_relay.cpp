#include "udp_relay.hpp"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "portsafe/log.hpp"
#include "portsafe/port_table.hpp"

namespace portsafe::docker_proxy {
namespace {

constexpr uint64_t kStopKey = 0;
constexpr uint64_t kListenerKey = 1;
constexpr int kBurst = 64;                 // datagrams per wake-up and socket
constexpr size_t kDatagramBytes = 65536;   // the largest UDP payload fits
constexpr size_t kControlBytes = CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo));

uint64_t key_of_flow(uint64_t id) { return id + 1; }

// Asks the kernel to say which local address each datagram was sent to.
void request_packet_info(int fd) {
  const int on = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
  ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
}

ReplySource read_reply_source(msghdr& message) {
  ReplySource source;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      // Reply from the address the client wrote to (the header's destination; ipi_spec_dst is
      // the routing's preferred address, which differs for e.g. 127.0.0.3); let routing choose
      // the interface. A broadcast or multicast destination cannot be a source: use spec_dst.
      in_pktinfo reply{};
      const uint32_t destination = ntohl(info.ipi_addr.s_addr);
      const bool unicast = !IN_MULTICAST(destination) && destination != INADDR_BROADCAST;
      reply.ipi_spec_dst = unicast ? info.ipi_addr : info.ipi_spec_dst;
      source.level = IPPROTO_IP;
      source.type = IP_PKTINFO;
      source.length = sizeof reply;
      std::memcpy(source.data, &reply, sizeof reply);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      in6_pktinfo reply{};
      reply.ipi6_addr = info.ipi6_addr;
      source.level = IPPROTO_IPV6;
      source.type = IPV6_PKTINFO;
      source.length = sizeof reply;
      std::memcpy(source.data, &reply, sizeof reply);
    }
  }
  return source;
}

}  // namespace

UdpRelay::UdpRelay(UniqueFd listener, const Endpoint& container, std::chrono::milliseconds idle)
    : listener_(std::move(listener)),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      container_(container),
      idle_(idle),
      buffer_(kDatagramBytes) {}

const char* UdpRelay::run(int stop_fd) {
  if (!epoll_) return "cannot create an epoll set";
  request_packet_info(listener_.get());
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kStopKey;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, stop_fd, &event) != 0) return "cannot watch the stop signal";
  event.data.u64 = kListenerKey;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &event) != 0) return "cannot watch the UDP socket";
  // Flows are swept a few times per timeout: expiry is late by at most a tenth of it.
  const int64_t sweep_every = std::clamp<int64_t>(idle_.count() / 10, 10, 1000);
  next_sweep_ms_ = monotonic_ms() + sweep_every;
  epoll_event events[64];
  while (true) {
    const int64_t wait = std::max<int64_t>(0, next_sweep_ms_ - monotonic_ms());
    const int n = ::epoll_wait(epoll_.get(), events, 64, static_cast<int>(wait));
    if (n < 0 && errno != EINTR) return "epoll_wait failed";
    for (int i = 0; i < n; ++i) {
      const uint64_t key = events[i].data.u64;
      if (key == kStopKey) return nullptr;
      if (key == kListenerKey) {
        receive_from_clients();
      } else {
        receive_from_container(key - 1);
      }
    }
    if (monotonic_ms() >= next_sweep_ms_) {
      expire_idle_flows();
      next_sweep_ms_ = monotonic_ms() + sweep_every;
    }
  }
}

UdpFlow* UdpRelay::open_flow(const sockaddr_storage& client, socklen_t length, const ReplySource& source) {
  UdpFlow flow;
  flow.id = next_id_++;
  flow.backend.reset(::socket(container_.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!flow.backend ||
      ::connect(flow.backend.get(), reinterpret_cast<const sockaddr*>(&container_.address), container_.length) != 0) {
    log_warn("cannot open a UDP flow to {}: {}", format_endpoint(container_), std::strerror(errno));
    return nullptr;
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = key_of_flow(flow.id);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, flow.backend.get(), &event) != 0) return nullptr;
  flow.client = client;
  flow.client_length = length;
  flow.source = source;
  return &flows_.insert(std::move(flow));
}

void UdpRelay::receive_from_clients() {
  for (int i = 0; i < kBurst; ++i) {
    sockaddr_storage client{};
    alignas(cmsghdr) char control[kControlBytes];
    iovec io{buffer_.data(), buffer_.size()};
    msghdr message{};
    message.msg_name = &client;
    message.msg_namelen = sizeof client;
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(listener_.get(), &message, MSG_DONTWAIT);
    if (n < 0) return;  // EAGAIN; an ICMP error for an earlier reply is nothing to act on
    const ReplySource source = read_reply_source(message);
    UdpFlow* flow = flows_.find(client, message.msg_namelen);
    if (flow == nullptr) flow = open_flow(client, message.msg_namelen, source);
    if (flow == nullptr) continue;
    flow->source = source;
    flow->last_active_ms = monotonic_ms();
    // A refused earlier datagram (ICMP port unreachable) surfaces as ECONNREFUSED once: retry.
    if (::send(flow->backend.get(), buffer_.data(), static_cast<size_t>(n), MSG_DONTWAIT) < 0 && errno == ECONNREFUSED) {
      ::send(flow->backend.get(), buffer_.data(), static_cast<size_t>(n), MSG_DONTWAIT);
    }
  }
}

void UdpRelay::receive_from_container(uint64_t flow_id) {
  UdpFlow* flow = flows_.find_id(flow_id);
  if (flow == nullptr) return;
  for (int i = 0; i < kBurst; ++i) {
    const ssize_t n = ::recv(flow->backend.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == ECONNREFUSED) continue;  // the container is not listening (yet): keep the flow
      return;
    }
    flow->last_active_ms = monotonic_ms();
    iovec io{buffer_.data(), static_cast<size_t>(n)};
    alignas(cmsghdr) char control[kControlBytes] = {};
    msghdr message{};
    message.msg_name = &flow->client;
    message.msg_namelen = flow->client_length;
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    if (flow->source.length != 0) {
      message.msg_control = control;
      message.msg_controllen = CMSG_SPACE(flow->source.length);
      cmsghdr* c = CMSG_FIRSTHDR(&message);
      c->cmsg_level = flow->source.level;
      c->cmsg_type = flow->source.type;
      c->cmsg_len = CMSG_LEN(flow->source.length);
      std::memcpy(CMSG_DATA(c), flow->source.data, flow->source.length);
    }
    ::sendmsg(listener_.get(), &message, MSG_DONTWAIT);
  }
}

void UdpRelay::expire_idle_flows() {
  const auto gone = flows_.expire(monotonic_ms(), idle_);
  if (!gone.empty()) log_debug("expired {} idle UDP flow(s); {} left", gone.size(), flows_.size());
}

}  // namespace portsafe::docker_proxy
