// Descriptors cross a Unix socket with the bytes they ride on, and arrive close-on-exec.
#include "portsafe/fd_passing.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace portsafe {
namespace {

TEST(FdPassing, SocketArrivesBoundAndCloseOnExec) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd a(pair[0]), b(pair[1]);
  UniqueFd bound(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(bound.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(bound.get(), reinterpret_cast<sockaddr*>(&addr), &len);

  const uint8_t message[] = "hello";
  const int fds[] = {bound.get()};
  ASSERT_EQ(send_with_fds(a.get(), message, sizeof message, fds, 1), 0);
  uint8_t received[sizeof message];
  std::vector<UniqueFd> got;
  ASSERT_EQ(receive_exact(b.get(), received, sizeof received, &got), 0);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(received)), "hello");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(fcntl(got[0].get(), F_GETFD) & FD_CLOEXEC);
  sockaddr_in other{};
  len = sizeof other;
  ASSERT_EQ(getsockname(got[0].get(), reinterpret_cast<sockaddr*>(&other), &len), 0);
  EXPECT_EQ(other.sin_port, addr.sin_port);
}

TEST(FdPassing, PeerCloseIsReported) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd a(pair[0]), b(pair[1]);
  const uint8_t partial[] = {1, 2};
  ASSERT_EQ(send_with_fds(a.get(), partial, sizeof partial, nullptr, 0), 0);
  a.reset();
  uint8_t buffer[8];
  EXPECT_EQ(receive_exact(b.get(), buffer, sizeof buffer, nullptr), -1);
}

TEST(FdPassing, TooManyDescriptorsAreRefused) {
  int fds[kMaxPassedFds + 1] = {};
  const uint8_t byte = 0;
  EXPECT_EQ(send_with_fds(-1, &byte, 1, fds, kMaxPassedFds + 1), EINVAL);
}

}  // namespace
}  // namespace portsafe
