// UDP through a virtual port: each way of sending (sendto, sendmsg, sendmmsg, connect+send)
// reaches the real port, and each way of receiving (recvfrom, recvmsg, recvmmsg) names the
// sender by its virtual port. IPv4 and IPv6.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "virtual_fixture.hpp"

namespace portsafe::virtual_test {
namespace {

struct Case {
  int family;
  const char* host;
};

class VirtualUdp : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    server_ = bound_virtual(GetParam().family, SOCK_DGRAM, GetParam().host);
    client_ = with_receive_timeout(::socket(GetParam().family, SOCK_DGRAM, 0));
    target_ = address(GetParam().family, GetParam().host, kVirtual);
  }
  void TearDown() override {
    ::close(server_);
    ::close(client_);
  }
  // The server reads one datagram with recvfrom and answers its sender the same way.
  std::string echo_once() {
    char data[64];
    sockaddr_storage sender{};
    socklen_t length = sizeof sender;
    const ssize_t got = ::recvfrom(server_, data, sizeof data, 0, as_sockaddr(sender), &length);
    EXPECT_GT(got, 0) << std::strerror(errno);
    if (got <= 0) return "";
    EXPECT_EQ(::sendto(server_, data, static_cast<size_t>(got), 0, as_sockaddr(sender), length), got);
    return std::string(data, static_cast<size_t>(got));
  }

  int server_ = -1;
  int client_ = -1;
  sockaddr_storage target_{};
};

TEST_P(VirtualUdp, SendtoReachesTheRealPortAndRecvfromNamesTheVirtualOne) {
  EXPECT_EQ(kernel_local_port(server_), kRealUdp);
  ASSERT_EQ(::sendto(client_, "one", 3, 0, as_sockaddr(target_), length_of(target_)), 3) << std::strerror(errno);
  EXPECT_EQ(echo_once(), "one");
  char reply[8];
  sockaddr_storage from{};
  socklen_t length = sizeof from;
  ASSERT_EQ(::recvfrom(client_, reply, sizeof reply, 0, as_sockaddr(from), &length), 3);
  EXPECT_EQ(length, length_of(target_));
  EXPECT_EQ(port_of(from), kVirtual);
}

TEST_P(VirtualUdp, SendmsgAndRecvmsg) {
  char payload[] = "two";
  iovec out{payload, 3};
  msghdr message{};
  message.msg_name = &target_;
  message.msg_namelen = length_of(target_);
  message.msg_iov = &out;
  message.msg_iovlen = 1;
  const sockaddr_storage before = target_;
  ASSERT_EQ(::sendmsg(client_, &message, 0), 3) << std::strerror(errno);
  EXPECT_EQ(std::memcmp(&before, &target_, sizeof before), 0) << "the program's address was changed";
  EXPECT_EQ(echo_once(), "two");

  char reply[8];
  iovec in{reply, sizeof reply};
  sockaddr_storage from{};
  msghdr received{};
  received.msg_name = &from;
  received.msg_namelen = sizeof from;
  received.msg_iov = &in;
  received.msg_iovlen = 1;
  ASSERT_EQ(::recvmsg(client_, &received, 0), 3);
  EXPECT_EQ(received.msg_namelen, length_of(target_));
  EXPECT_EQ(port_of(from), kVirtual);
}

TEST_P(VirtualUdp, SendmmsgAndRecvmmsgAcrossBatches) {
  // More messages than the shim's batch of stack copies, so the batching shows.
  constexpr unsigned kCount = 19;
  mmsghdr messages[kCount]{};
  iovec payloads[kCount];
  char bytes[kCount];
  for (unsigned i = 0; i < kCount; ++i) {
    bytes[i] = static_cast<char>('a' + i);
    payloads[i] = {&bytes[i], 1};
    messages[i].msg_hdr.msg_name = &target_;
    messages[i].msg_hdr.msg_namelen = length_of(target_);
    messages[i].msg_hdr.msg_iov = &payloads[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  ASSERT_EQ(::sendmmsg(client_, messages, kCount, 0), static_cast<int>(kCount)) << std::strerror(errno);
  for (unsigned i = 0; i < kCount; ++i) {
    EXPECT_EQ(messages[i].msg_len, 1u) << i;
    EXPECT_EQ(messages[i].msg_hdr.msg_name, &target_) << "the program's header was changed";
  }
  for (unsigned i = 0; i < kCount; ++i) EXPECT_EQ(echo_once(), std::string(1, static_cast<char>('a' + i)));

  mmsghdr received[kCount]{};
  iovec slots[kCount];
  char space[kCount][4];
  sockaddr_storage from[kCount]{};
  for (unsigned i = 0; i < kCount; ++i) {
    slots[i] = {space[i], sizeof space[i]};
    received[i].msg_hdr.msg_name = &from[i];
    received[i].msg_hdr.msg_namelen = sizeof from[i];
    received[i].msg_hdr.msg_iov = &slots[i];
    received[i].msg_hdr.msg_iovlen = 1;
  }
  int got = 0;
  while (got < static_cast<int>(kCount)) {
    const int rc = ::recvmmsg(client_, received + got, kCount - static_cast<unsigned>(got), MSG_WAITFORONE, nullptr);
    ASSERT_GT(rc, 0) << std::strerror(errno);
    got += rc;
  }
  for (unsigned i = 0; i < kCount; ++i) EXPECT_EQ(port_of(from[i]), kVirtual) << i;
}

TEST_P(VirtualUdp, ConnectedSocketSendsToTheRealPortAndItsPeerIsVirtual) {
  ASSERT_EQ(::connect(client_, as_sockaddr(target_), length_of(target_)), 0) << std::strerror(errno);
  EXPECT_EQ(kernel_peer_port(client_), kRealUdp);
  EXPECT_EQ(reported_peer_port(client_), kVirtual);
  ASSERT_EQ(::send(client_, "three", 5, 0), 5);
  EXPECT_EQ(echo_once(), "three");
}

INSTANTIATE_TEST_SUITE_P(Families, VirtualUdp, ::testing::Values(Case{AF_INET, "127.0.0.1"}, Case{AF_INET6, "::1"}));

}  // namespace
}  // namespace portsafe::virtual_test
