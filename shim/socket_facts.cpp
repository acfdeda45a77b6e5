#include "socket_facts.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>

#include "fd_claims.hpp"

namespace portsafe::shim {
namespace {

constexpr uint8_t kKnown = 1;
constexpr uint8_t kTcp = 2;
constexpr uint8_t kUdp = 4;
constexpr uint8_t kReuse = 8;
constexpr uint8_t kNoPort = 16;

std::atomic<uint8_t> g_facts[kTrackedFds];
std::atomic<int> g_limit{0};

bool in_table(int fd) noexcept { return fd >= 0 && fd < kTrackedFds; }

void set_flag(int fd, uint8_t flag, bool on) noexcept {
  std::atomic<uint8_t>& facts = g_facts[fd];
  uint8_t current = facts.load(std::memory_order_relaxed);
  if ((current & kKnown) == 0) return;
  const auto wanted = static_cast<uint8_t>(on ? (current | flag) : (current & ~flag));
  while (current != wanted && (current & kKnown) != 0 &&
         !facts.compare_exchange_weak(current, wanted, std::memory_order_relaxed)) {
  }
}

}  // namespace

void note_socket_created(int fd, int domain, int type, int protocol) noexcept {
  if (!in_table(fd)) return;
  uint8_t facts = kKnown;
  const int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (domain == AF_INET || domain == AF_INET6) {
    if (kind == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) facts |= kTcp;
    if (kind == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP)) facts |= kUdp;
  }
  g_facts[fd].store(facts, std::memory_order_relaxed);
  int limit = g_limit.load(std::memory_order_relaxed);
  while (limit <= fd && !g_limit.compare_exchange_weak(limit, fd + 1, std::memory_order_relaxed)) {
  }
}

void note_socket_option(int fd, int level, int name, const void* value, unsigned length) noexcept {
  const bool reuse = level == SOL_SOCKET && name == SO_REUSEADDR;
  const bool no_port = level == IPPROTO_IP && name == IP_BIND_ADDRESS_NO_PORT;
  if (!in_table(fd) || (!reuse && !no_port)) return;
  if (value == nullptr || length < sizeof(int)) {
    forget_socket_facts(fd);  // a char-sized IP option: let bind() ask the kernel instead
    return;
  }
  int on = 0;
  std::memcpy(&on, value, sizeof on);
  set_flag(fd, reuse ? kReuse : kNoPort, on != 0);
}

void forget_socket_facts(int fd) noexcept {
  if (in_table(fd)) g_facts[fd].store(0, std::memory_order_relaxed);
}

void forget_socket_facts_range(unsigned first, unsigned last) noexcept {
  const auto limit = static_cast<unsigned>(g_limit.load(std::memory_order_relaxed));
  for (unsigned fd = first; fd < limit && fd <= last; ++fd) g_facts[fd].store(0, std::memory_order_relaxed);
}

std::optional<SocketFacts> known_socket_facts(int fd) noexcept {
  if (!in_table(fd)) return std::nullopt;
  const uint8_t facts = g_facts[fd].load(std::memory_order_relaxed);
  if ((facts & kKnown) == 0) return std::nullopt;
  SocketFacts known;
  if ((facts & kTcp) != 0) known.proto = Protocol::tcp;
  if ((facts & kUdp) != 0) known.proto = Protocol::udp;
  known.reuse_address = (facts & kReuse) != 0;
  known.bind_address_no_port = (facts & kNoPort) != 0;
  return known;
}

}  // namespace portsafe::shim
