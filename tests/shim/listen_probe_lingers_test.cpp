// Defect 1: listening is not use. A socket that was bound and listened on but never accepted a
// connection is a port probe (`new ServerSocket(0)`, portpicker's TCP check): its number is about
// to be handed to another program, so at close it must linger for the job, and another job must
// be refused it. (A port that served a connection is free at close: claim_lifecycle_test.cpp.)
#include <fcntl.h>

#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

TEST(ListenProbe, BoundAndListenedPortLingersForTheJob) {
  const auto [fd, port] = bind_zero();
  ASSERT_EQ(::listen(fd, 50), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).flags & kSlotUsed, 0u) << "listening marked the port used";
  ASSERT_EQ(::close(fd), 0);
  const SlotView view = slot(Protocol::tcp, port);
  EXPECT_EQ(view.state, SlotState::linger);
  EXPECT_EQ(pack_identity(view.owner), own_job_id());
}

TEST(ListenProbe, JavaStyleReuseAddressProbeLingersAndAnotherJobIsRefused) {
  // What `new ServerSocket(0)` does on Linux: SO_REUSEADDR, bind port 0, listen, close.
  const int fd = make_socket();
  const int on = 1;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on), 0);
  ASSERT_EQ(bind_port(fd, 0), 0) << std::strerror(errno);
  const uint16_t port = local_port(fd);
  ASSERT_TRUE(in_test_range(port));
  ASSERT_EQ(::listen(fd, 50), 0);
  ASSERT_EQ(::close(fd), 0);
  ASSERT_EQ(slot(Protocol::tcp, port).state, SlotState::linger);

  OtherProcess other;
  const PortClaim theft = table().claim_port(Protocol::tcp, port, other.claimant());
  EXPECT_EQ(theft.result, ClaimResult::other_job) << "another job could take the handed-on number";

  const int server = make_socket();
  EXPECT_EQ(bind_port(server, port), 0) << "the job's own server takes it over: " << std::strerror(errno);
  ::close(server);
}

TEST(ListenProbe, FailedAcceptIsNotUse) {
  const auto [fd, port] = bind_zero();
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::fcntl(fd, F_SETFL, O_NONBLOCK), 0);
  errno = 0;
  EXPECT_EQ(::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC), -1);
  EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << std::strerror(errno);
  EXPECT_EQ(::accept(fd, nullptr, nullptr), -1);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::linger) << "no connection was accepted";
}

}  // namespace
}  // namespace portsafe::shim_test
