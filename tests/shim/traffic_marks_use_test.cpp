// What counts as real use, call by call: a connection accepted (accept, accept4), and for UDP a
// datagram sent or received through any of the send/receive calls. Each marks the claim used, so
// the port is free at close; each leaves errno as the call left it.
#include <fcntl.h>

#include "shim_fixture.hpp"

// What _FORTIFY_SOURCE builds call for recv/recvfrom into a buffer of known size (glibc).
extern "C" ssize_t __recv_chk(int fd, void* buf, size_t size, size_t capacity, int flags);
extern "C" ssize_t __recvfrom_chk(int fd, void* buf, size_t size, size_t capacity, int flags, sockaddr* addr,
                                  socklen_t* length);

namespace portsafe::shim_test {
namespace {

TEST(TrafficMarksUse, Accept4ReturningAConnectionMarksTheListener) {
  const auto [fd, port] = bind_zero();
  ASSERT_EQ(::listen(fd, 1), 0);
  const int client = make_socket();
  const sockaddr_in addr = loopback(port);
  ASSERT_EQ(::connect(client, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).flags & kSlotUsed, 0u) << "a pending connection is not served yet";
  errno = 1234;
  const int accepted = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(accepted, 0) << std::strerror(errno);
  EXPECT_EQ(errno, 1234) << "a successful accept4 leaves errno alone";
  EXPECT_NE(slot(Protocol::tcp, port).flags & kSlotUsed, 0u);
  ::close(accepted);
  ::close(client);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::free);
}

// A UDP socket with a picked port, and a plain peer socket of the kernel's choosing.
struct UdpPair {
  int fd = -1;
  uint16_t port = 0;
  int peer = -1;
  sockaddr_in to_fd{};
  sockaddr_in to_peer{};
  UdpPair() {
    std::tie(fd, port) = bind_zero(SOCK_DGRAM);
    peer = make_socket(SOCK_DGRAM);
    EXPECT_EQ(bare_bind(peer, 0), 0);
    to_fd = loopback(port);
    to_peer = loopback(local_port(peer));
  }
  ~UdpPair() { ::close(peer); }
  void peer_sends() const {
    EXPECT_EQ(::sendto(peer, "x", 1, 0, reinterpret_cast<const sockaddr*>(&to_fd), sizeof to_fd), 1);
  }
  bool used() const { return (slot(Protocol::udp, port).flags & kSlotUsed) != 0; }
  SlotState closed_state() const {
    ::close(fd);
    return slot(Protocol::udp, port).state;
  }
};

using UdpCall = ssize_t (*)(const UdpPair&);

ssize_t with_sendto(const UdpPair& p) {
  return ::sendto(p.fd, "x", 1, 0, reinterpret_cast<const sockaddr*>(&p.to_peer), sizeof p.to_peer);
}
ssize_t with_sendmsg(const UdpPair& p) {
  char byte = 'x';
  iovec iov{&byte, 1};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr_in*>(&p.to_peer);
  msg.msg_namelen = sizeof p.to_peer;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  return ::sendmsg(p.fd, &msg, 0);
}
ssize_t with_sendmmsg(const UdpPair& p) {
  char byte = 'x';
  iovec iov{&byte, 1};
  mmsghdr msg{};
  msg.msg_hdr.msg_name = const_cast<sockaddr_in*>(&p.to_peer);
  msg.msg_hdr.msg_namelen = sizeof p.to_peer;
  msg.msg_hdr.msg_iov = &iov;
  msg.msg_hdr.msg_iovlen = 1;
  return ::sendmmsg(p.fd, &msg, 1, 0);
}
ssize_t with_recvfrom(const UdpPair& p) {
  p.peer_sends();
  char byte = 0;
  return ::recvfrom(p.fd, &byte, 1, 0, nullptr, nullptr);
}
ssize_t with_recv(const UdpPair& p) {
  p.peer_sends();
  char byte = 0;
  return ::recv(p.fd, &byte, 1, 0);
}
ssize_t with_recvmsg(const UdpPair& p) {
  p.peer_sends();
  char byte = 0;
  iovec iov{&byte, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  return ::recvmsg(p.fd, &msg, 0);
}
ssize_t with_recvmmsg(const UdpPair& p) {
  p.peer_sends();
  char byte = 0;
  iovec iov{&byte, 1};
  mmsghdr msg{};
  msg.msg_hdr.msg_iov = &iov;
  msg.msg_hdr.msg_iovlen = 1;
  return ::recvmmsg(p.fd, &msg, 1, 0, nullptr);
}

ssize_t with_recv_chk(const UdpPair& p) {
  p.peer_sends();
  char byte = 0;
  return ::__recv_chk(p.fd, &byte, 1, sizeof byte, 0);
}
ssize_t with_recvfrom_chk(const UdpPair& p) {
  p.peer_sends();
  char byte = 0;
  return ::__recvfrom_chk(p.fd, &byte, 1, sizeof byte, 0, nullptr, nullptr);
}

class UdpTraffic : public ::testing::TestWithParam<UdpCall> {};

TEST_P(UdpTraffic, DatagramMarksUseAndFreesThePortAtClose) {
  const UdpPair pair;
  ASSERT_FALSE(pair.used());
  errno = 1234;
  EXPECT_GE(GetParam()(pair), 1) << std::strerror(errno);
  EXPECT_EQ(errno, 1234) << "a successful call leaves errno alone";
  EXPECT_TRUE(pair.used());
  EXPECT_EQ(pair.closed_state(), SlotState::free);
}

std::string udp_call_name(const ::testing::TestParamInfo<UdpCall>& param) {
  static const char* const kNames[] = {"sendto",  "sendmsg",  "sendmmsg",  "recvfrom",
                                             "recv",    "recvmsg",  "recvmmsg",  "recv_chk_fortified",
                                             "recvfrom_chk_fortified"};
  return kNames[param.index];
}

INSTANTIATE_TEST_SUITE_P(EverySendAndReceiveCall, UdpTraffic,
                         ::testing::Values(&with_sendto, &with_sendmsg, &with_sendmmsg, &with_recvfrom, &with_recv,
                                           &with_recvmsg, &with_recvmmsg, &with_recv_chk, &with_recvfrom_chk),
                         udp_call_name);

TEST(TrafficMarksUse, ReceiveWithNothingQueuedIsNotUseAndKeepsItsErrno) {
  const UdpPair pair;
  char byte = 0;
  errno = 0;
  EXPECT_EQ(::recv(pair.fd, &byte, 1, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_FALSE(pair.used());
  EXPECT_EQ(pair.closed_state(), SlotState::linger) << "a UDP probe that carried nothing lingers";
}

}  // namespace
}  // namespace portsafe::shim_test
