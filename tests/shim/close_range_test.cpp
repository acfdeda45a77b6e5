// close_range() and closefrom() release the claims of the descriptors they close;
// CLOSE_RANGE_CLOEXEC closes nothing and releases nothing.
#include <fcntl.h>
#include <linux/close_range.h>

#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

// Moves a fresh claimed socket to a high descriptor, above anything gtest has open.
std::pair<int, uint16_t> claimed_at(int target) {
  const auto [fd, port] = bind_zero();
  EXPECT_EQ(::dup2(fd, target), target);
  ::close(fd);
  return {target, port};
}

TEST(CloseRange, ReleasesEveryClaimInTheRange) {
  const auto [a, port_a] = claimed_at(500);
  const auto [b, port_b] = claimed_at(501);
  ASSERT_TRUE(serve_one_connection(b)) << std::strerror(errno);
  const auto [outside, port_outside] = claimed_at(600);
  ASSERT_EQ(::close_range(500, 510, 0), 0);
  EXPECT_EQ(slot(Protocol::tcp, port_a).state, SlotState::linger);
  EXPECT_EQ(slot(Protocol::tcp, port_b).state, SlotState::free);
  EXPECT_EQ(slot(Protocol::tcp, port_outside).state, SlotState::bound);
  ::close(outside);
  (void)a;
}

TEST(CloseRange, CloexecFlagClosesAndReleasesNothing) {
  const auto [fd, port] = claimed_at(520);
  ASSERT_EQ(::close_range(520, 520, CLOSE_RANGE_CLOEXEC), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::bound);
  ASSERT_TRUE(serve_one_connection(fd)) << "still open: " << std::strerror(errno);
  ::close(fd);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::free);
}

TEST(CloseRange, DuplicatesInsideTheRangeReleaseOnce) {
  const auto [fd, port] = claimed_at(530);
  ASSERT_EQ(::dup2(fd, 531), 531);
  ASSERT_EQ(::close_range(530, 531, 0), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::linger);
}

TEST(CloseRange, ClosefromReleasesToo) {
  const auto [fd, port] = claimed_at(700);
  ASSERT_TRUE(serve_one_connection(fd)) << std::strerror(errno);
  ::closefrom(700);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::free);
  errno = 0;
  EXPECT_EQ(::fcntl(700, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(CloseRange, StaleEntryIsReleasedWhenItsNumberIsReused) {
  // A raw close the shim cannot see leaves a stale entry; the next socket bound on that number
  // replaces it and the stale claim is released then.
  const auto [fd, port] = claimed_at(540);
  ASSERT_EQ(::syscall(SYS_close, fd), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::bound) << "the shim did not see that close";
  const auto [next, next_port] = claimed_at(540);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::linger);
  EXPECT_EQ(slot(Protocol::tcp, next_port).state, SlotState::bound);
  ::close(next);
}

}  // namespace
}  // namespace portsafe::shim_test
