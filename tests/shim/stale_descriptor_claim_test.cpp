// A claim's socket closed where the shim cannot see it (a raw close syscall, fclose of an
// fdopen'd socket) leaves a stale entry; when the number comes back as another socket, that
// socket's traffic must not count as use of the old port (which would free at close a number
// that may have been handed on): the stale entry is dropped and the old port lingers.
#include <sys/syscall.h>

#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

TEST(StaleDescriptorClaim, TrafficOfAReusedNumberDoesNotMarkTheOldPortUsed) {
  const auto [fd, port] = bind_zero(SOCK_DGRAM);
  ASSERT_EQ(::syscall(SYS_close, fd), 0);  // behind the shim's back
  const int reused = make_socket(SOCK_DGRAM);
  ASSERT_EQ(reused, fd) << "the kernel hands out the lowest free number";
  const int peer = make_socket(SOCK_DGRAM);
  ASSERT_EQ(bare_bind(peer, 0), 0);
  const sockaddr_in to_peer = loopback(local_port(peer));
  errno = 1234;
  ASSERT_EQ(::sendto(reused, "x", 1, 0, reinterpret_cast<const sockaddr*>(&to_peer), sizeof to_peer), 1);
  EXPECT_EQ(errno, 1234) << "the check leaves errno alone";
  const SlotView old = slot(Protocol::udp, port);
  EXPECT_EQ(old.flags & kSlotUsed, 0u) << "another socket's datagram marked the old port used";
  EXPECT_EQ(old.state, SlotState::linger) << "the stale claim is released as its close would have";
  ::close(reused);
  ::close(peer);
  EXPECT_EQ(slot(Protocol::udp, port).state, SlotState::linger);
}

TEST(StaleDescriptorClaim, TheClaimedSocketItselfStillMarksUse) {
  const auto [fd, port] = bind_zero(SOCK_DGRAM);
  const int peer = make_socket(SOCK_DGRAM);
  ASSERT_EQ(bare_bind(peer, 0), 0);
  const sockaddr_in to_peer = loopback(local_port(peer));
  ASSERT_EQ(::sendto(fd, "x", 1, 0, reinterpret_cast<const sockaddr*>(&to_peer), sizeof to_peer), 1);
  EXPECT_NE(slot(Protocol::udp, port).flags & kSlotUsed, 0u);
  ::close(fd);
  ::close(peer);
  EXPECT_EQ(slot(Protocol::udp, port).state, SlotState::free);
}

}  // namespace
}  // namespace portsafe::shim_test
