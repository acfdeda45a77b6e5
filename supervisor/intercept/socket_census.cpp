#include "intercept/socket_census.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portsafe::intercept {
namespace {

constexpr uint8_t kEstablished = 1;
constexpr uint8_t kClose = 7;
constexpr uint8_t kListen = 10;
// Every state, including TCP_BOUND_INACTIVE (13, kernel 6.8+: bound sockets that neither listen
// nor connect), which the kernel lists only when asked for by its bit.
constexpr uint32_t kAllStates = ~0u;

// inet_diag bytecode: local port >= low and <= high. Each comparison is two ops, the second
// carrying the port; "no" jumps past the end (length + 4), which rejects the socket.
struct PortFilter {
  inet_diag_bc_op ops[4];
};

PortFilter port_filter(PortRange ports) {
  PortFilter filter{};
  filter.ops[0] = {INET_DIAG_BC_S_GE, sizeof(inet_diag_bc_op) * 2, sizeof(inet_diag_bc_op) * 4 + 4};
  filter.ops[1] = {0, 0, ports.low};
  filter.ops[2] = {INET_DIAG_BC_S_LE, sizeof(inet_diag_bc_op) * 2, sizeof(inet_diag_bc_op) * 2 + 4};
  filter.ops[3] = {0, 0, ports.high};
  return filter;
}

struct DumpRequest {
  nlmsghdr header;
  inet_diag_req_v2 request;
  nlattr attribute;
  PortFilter filter;
};

UniqueFd open_diag_socket() noexcept {
  return UniqueFd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
}

}  // namespace

SocketCensus::SocketCensus() : fd_(open_diag_socket()) {}

// A dump cut short (an error reply, a failed recv, an exception while storing) leaves the rest of
// its answer queued, and a running dump makes the kernel refuse the next one: a fresh socket
// drops both, so no later sweep can take that remainder for its own answer.
void SocketCensus::reopen() noexcept { fd_ = open_diag_socket(); }

bool SocketCensus::dump(int family, Protocol proto, PortRange ports, std::vector<CensusEntry>& out) {
  bool answered = false;
  try {
    answered = read_dump(family, proto, ports, out);
  } catch (...) {
    reopen();
    throw;
  }
  if (!answered) reopen();
  return answered;
}

bool SocketCensus::read_dump(int family, Protocol proto, PortRange ports, std::vector<CensusEntry>& out) {
  DumpRequest message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.header.nlmsg_seq = ++sequence_;
  message.request.sdiag_family = static_cast<uint8_t>(family);
  message.request.sdiag_protocol = proto == Protocol::tcp ? IPPROTO_TCP : IPPROTO_UDP;
  message.request.idiag_states = kAllStates;
  message.attribute.nla_len = static_cast<uint16_t>(sizeof message.attribute + sizeof message.filter);
  message.attribute.nla_type = INET_DIAG_REQ_BYTECODE;
  message.filter = port_filter(ports);
  if (::send(fd_.get(), &message, sizeof message, 0) != static_cast<ssize_t>(sizeof message)) return false;

  alignas(nlmsghdr) char buffer[32768];
  while (true) {
    const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    size_t left = static_cast<size_t>(n);
    for (auto* header = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(header, left);
         header = NLMSG_NEXT(header, left)) {
      // An answer to an earlier request (one abandoned before this socket learned to drop it).
      if (header->nlmsg_seq != message.header.nlmsg_seq) continue;
      if (header->nlmsg_type == NLMSG_DONE) return true;
      if (header->nlmsg_type == NLMSG_ERROR) return false;
      if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
      const auto* socket = static_cast<const inet_diag_msg*>(NLMSG_DATA(header));
      out.push_back(CensusEntry{socket->idiag_inode, ntohs(socket->id.idiag_sport), socket->idiag_state,
                                socket->idiag_rqueue + socket->idiag_wqueue});
    }
  }
}

std::optional<std::vector<CensusEntry>> SocketCensus::list(Protocol proto, PortRange ports) {
  std::vector<CensusEntry> out;
  if (!valid() || !dump(AF_INET, proto, ports, out) || !dump(AF_INET6, proto, ports, out)) return std::nullopt;
  return out;
}

bool SocketCensus::sees_bound_tcp_sockets() {
  UniqueFd probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  struct stat info {};
  if (!probe || ::bind(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      ::fstat(probe.get(), &info) != 0) {
    return false;
  }
  const uint16_t port = ntohs(address.sin_port);
  std::vector<CensusEntry> out;
  if (!dump(AF_INET, Protocol::tcp, PortRange{port, port}, out)) return false;
  for (const CensusEntry& entry : out) {
    if (entry.inode == info.st_ino) return true;
  }
  return false;
}

bool shows_use(const CensusEntry& entry, Protocol proto) noexcept {
  // TIME_WAIT and request sockets (no inode) may be left by an earlier owner of the port.
  if (entry.inode == 0) return false;
  if (proto == Protocol::udp) return entry.state == kEstablished || entry.queued > 0;
  return entry.state != kClose && entry.state != kListen && entry.state < 12;
}

}  // namespace portsafe::intercept
