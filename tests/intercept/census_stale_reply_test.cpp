// The census takes only the kernel's answer to its own request: replies left queued on its socket
// by an earlier request (a dump abandoned midway) must not be read as the current state, or a
// sweep would see a live socket as gone and release its claim.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "intercept/socket_census.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::intercept {
namespace {

constexpr uint16_t kPort = 20100;

// Asks for a dump that lists nothing (no state wanted) and leaves its answer unread: the kernel
// queues a complete reply (NLMSG_DONE) with a sequence number the census never sent.
void queue_stale_empty_reply(int socket) {
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.header.nlmsg_seq = 7777;
  message.request.sdiag_family = AF_INET;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = 0;
  ASSERT_EQ(::send(socket, &message, sizeof message, 0), static_cast<ssize_t>(sizeof message));
}

UniqueFd listen_on_loopback(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd.get(), 1) != 0) {
    return UniqueFd();
  }
  return fd;
}

TEST(CensusStaleReply, RepliesToAnEarlierRequestAreNotTakenForTheAnswer) {
  UniqueFd diag(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  ASSERT_TRUE(diag.valid());
  // One stale reply for each of the two dumps (IPv4, IPv6) a list() makes, both saying "nothing".
  queue_stale_empty_reply(diag.get());
  queue_stale_empty_reply(diag.get());

  UniqueFd listener = listen_on_loopback(kPort);
  ASSERT_TRUE(listener.valid()) << "bind 127.0.0.1:" << kPort << ": " << std::strerror(errno);
  struct stat info {};
  ASSERT_EQ(::fstat(listener.get(), &info), 0);

  SocketCensus census(std::move(diag));
  const auto entries = census.list(Protocol::tcp, PortRange{kPort, kPort});
  ASSERT_TRUE(entries.has_value()) << "the census had no answer";
  bool listed = false;
  for (const CensusEntry& entry : *entries) listed = listed || entry.inode == info.st_ino;
  EXPECT_TRUE(listed) << "the live listener on port " << kPort
                      << " is missing: the census read a stale reply as its answer";
}

}  // namespace
}  // namespace portsafe::intercept
