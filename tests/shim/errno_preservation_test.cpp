// A successful call leaves errno as it was; a failing one leaves the errno the kernel gave (or
// EADDRINUSE for a refusal of ours), exactly as libc alone would.
#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

constexpr int kSentinel = 12345;

TEST(ErrnoPreservation, SuccessfulPickBindListenCloseKeepErrno) {
  const int fd = make_socket();
  errno = kSentinel;
  ASSERT_EQ(bind_port(fd, 0), 0);
  EXPECT_EQ(errno, kSentinel);
  errno = kSentinel;
  ASSERT_EQ(::listen(fd, 1), 0);
  EXPECT_EQ(errno, kSentinel);
  errno = kSentinel;
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(errno, kSentinel);
}

TEST(ErrnoPreservation, SuccessfulGivenPortBindKeepsErrno) {
  const int fd = make_socket();
  errno = kSentinel;
  ASSERT_EQ(bind_port(fd, kRangeLow + 3), 0);
  EXPECT_EQ(errno, kSentinel);
  errno = kSentinel;
  const int copy = ::dup(fd);
  EXPECT_EQ(errno, kSentinel);
  errno = kSentinel;
  ASSERT_EQ(::close(copy), 0);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(errno, kSentinel);
}

TEST(ErrnoPreservation, BindingABoundSocketAgainGivesEinval) {
  const auto [fd, port] = bind_zero();
  errno = 0;
  EXPECT_EQ(bind_port(fd, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  // Another port of the range (the pick above may have been any of them).
  const auto other = static_cast<uint16_t>(port == kRangeLow + 9 ? kRangeLow + 10 : kRangeLow + 9);
  errno = 0;
  EXPECT_EQ(bind_port(fd, other), -1);
  EXPECT_EQ(errno, EINVAL);
  // The failed attempts left no claim behind.
  EXPECT_EQ(slot(Protocol::tcp, other).state, SlotState::free);
  EXPECT_EQ(table().list().size(), 1u);
  ::close(fd);
}

TEST(ErrnoPreservation, BadDescriptorGivesEbadf) {
  errno = 0;
  EXPECT_EQ(bind_port(-1, 0), -1);
  EXPECT_EQ(errno, EBADF);
  errno = 0;
  EXPECT_EQ(::close(-1), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(ErrnoPreservation, PortTakenByAnOutsiderGivesEaddrinuseAndNoClaim) {
  const int outsider = make_socket();
  ASSERT_EQ(bare_bind(outsider, kRangeLow + 4), 0);
  ASSERT_EQ(::listen(outsider, 1), 0);
  const int fd = make_socket();
  errno = 0;
  EXPECT_EQ(bind_port(fd, kRangeLow + 4), -1);
  EXPECT_EQ(errno, EADDRINUSE);
  EXPECT_EQ(slot(Protocol::tcp, kRangeLow + 4).state, SlotState::free);
  ::close(fd);
  ::close(outsider);
}

TEST(ErrnoPreservation, NonLocalAddressGivesTheKernelsErrno) {
  const int fd = make_socket();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = inet_addr("203.0.113.7");  // TEST-NET-3: never local
  errno = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), -1);
  EXPECT_EQ(errno, EADDRNOTAVAIL);
  EXPECT_TRUE(table().list().empty());
  ::close(fd);
}

}  // namespace
}  // namespace portsafe::shim_test
