// A claim follows its socket through dup, dup2, dup3 and fcntl(F_DUPFD[_CLOEXEC]): it is
// released by the close of the last descriptor, and dup2/dup3 onto a claimed descriptor releases
// the claim that descriptor carried.
#include <fcntl.h>

#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

using DupCall = int (*)(int);

int dup_with_dup(int fd) { return ::dup(fd); }
int dup_with_fcntl(int fd) { return ::fcntl(fd, F_DUPFD, 100); }
int dup_with_fcntl_cloexec(int fd) { return ::fcntl(fd, F_DUPFD_CLOEXEC, 200); }
int dup_with_dup2(int fd) { return ::dup2(fd, 300); }
int dup_with_dup3(int fd) { return ::dup3(fd, 301, O_CLOEXEC); }

class DupDescriptors : public ::testing::TestWithParam<DupCall> {};

TEST_P(DupDescriptors, ClaimIsReleasedByTheLastClose) {
  const auto [fd, port] = bind_zero();
  const int copy = GetParam()(fd);
  ASSERT_GE(copy, 0) << std::strerror(errno);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::bound) << "the copy still has the socket";
  ASSERT_TRUE(serve_one_connection(copy)) << std::strerror(errno);  // real use through the copy counts
  ASSERT_EQ(::close(copy), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::free);
}

TEST_P(DupDescriptors, UnusedClaimLingersAfterTheLastClose) {
  const auto [fd, port] = bind_zero();
  const int copy = GetParam()(fd);
  ASSERT_GE(copy, 0);
  ASSERT_EQ(::close(copy), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::bound);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::linger);
}

std::string dup_call_name(const ::testing::TestParamInfo<DupCall>& param) {
  static const char* const kNames[] = {"dup", "fcntl_dupfd", "fcntl_dupfd_cloexec", "dup2", "dup3"};
  return kNames[param.index];
}

INSTANTIATE_TEST_SUITE_P(AllDupCalls, DupDescriptors,
                         ::testing::Values(&dup_with_dup, &dup_with_fcntl, &dup_with_fcntl_cloexec, &dup_with_dup2,
                                           &dup_with_dup3),
                         dup_call_name);

TEST(DupOntoClaimedDescriptor, Dup2ReleasesTheReplacedClaim) {
  const auto [first, first_port] = bind_zero();
  const auto [second, second_port] = bind_zero();
  ASSERT_TRUE(serve_one_connection(second)) << std::strerror(errno);
  ASSERT_EQ(::dup2(first, second), second);  // the kernel closes the old `second`
  EXPECT_EQ(slot(Protocol::tcp, second_port).state, SlotState::free);
  EXPECT_EQ(slot(Protocol::tcp, first_port).state, SlotState::bound);
  ::close(first);
  EXPECT_EQ(slot(Protocol::tcp, first_port).state, SlotState::bound) << "`second` now names it";
  ::close(second);
  EXPECT_EQ(slot(Protocol::tcp, first_port).state, SlotState::linger);
}

TEST(DupOntoClaimedDescriptor, Dup3ReplacingWithAnUnclaimedSocketReleases) {
  const auto [claimed, port] = bind_zero();
  const int plain = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_EQ(::dup3(plain, claimed, O_CLOEXEC), claimed);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::linger);
  ::close(claimed);  // now the unix socket: nothing more happens
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::linger);
  ::close(plain);
}

TEST(DupOntoClaimedDescriptor, FailedDup2KeepsTheClaim) {
  const auto [fd, port] = bind_zero();
  errno = 0;
  EXPECT_EQ(::dup2(12345, fd), -1);  // not an open descriptor
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::bound);
  ASSERT_TRUE(serve_one_connection(fd)) << std::strerror(errno);
  ::close(fd);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::free);
}

}  // namespace
}  // namespace portsafe::shim_test
