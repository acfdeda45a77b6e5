// The handler answers a raw-syscall child's bind with the shim's rules: port 0 gets a pick from
// the job's range (IPv4 and IPv6, TCP and UDP) on the child's own socket, another job's port is
// refused with EADDRINUSE, and binds portsafe has no say in (AF_UNIX) continue untouched.
#include <sched.h>
#include <sys/un.h>

#include <thread>

#include "intercept_fixture.hpp"

namespace portsafe::testing {
namespace {

struct Case {
  int family;
  int type;
  Protocol proto;
};
constexpr Case kCases[] = {{AF_INET, SOCK_STREAM, Protocol::tcp},
                           {AF_INET6, SOCK_STREAM, Protocol::tcp},
                           {AF_INET, SOCK_DGRAM, Protocol::udp},
                           {AF_INET6, SOCK_DGRAM, Protocol::udp}};

TEST_F(InterceptTest, PortZeroOfARawSyscallChildIsPickedFromTheJobRange) {
  start_child([](int control) {
    for (const Case& c : kCases) {
      const BindOutcome bound = raw_bind(c.family, c.type, 0);
      send_int(control, bound.error != 0 ? -bound.error : bound.port);
    }
    receive_int(control);  // keep the sockets until the test has looked
    return 0;
  });
  for (const Case& c : kCases) {
    ASSERT_TRUE(handler().handle_one());
    const auto port = receive_int(control_.get());
    ASSERT_TRUE(port);
    ASSERT_GT(*port, 0) << "bind failed: " << std::strerror(-*port);
    EXPECT_TRUE(spec_.range.contains(static_cast<uint16_t>(*port))) << *port;
    const auto view = table_->view(c.proto, static_cast<uint16_t>(*port));
    ASSERT_TRUE(view);
    EXPECT_EQ(view->state, SlotState::bound);
    EXPECT_EQ(view->owner, read_own_identity());  // the handler owns the job's claims
  }
  EXPECT_EQ(handler().tracker().size(), 4u);
  EXPECT_EQ(handler().counters().coordinated, 4u);
  send_int(control_.get(), 1);
  EXPECT_EQ(wait_child(), 0);
}

// Go binds from whichever thread runs the goroutine: the notification names a thread id, which
// a plain pidfd_open refuses (ENOENT since Linux 6.9, EINVAL before).
TEST_F(InterceptTest, ABindFromAThreadThatDoesNotLeadItsProcessIsServed) {
  start_child([](int control) {
    BindOutcome bound;
    std::thread([&] { bound = raw_bind(AF_INET6, SOCK_STREAM, 0); }).join();
    send_int(control, bound.error != 0 ? -bound.error : bound.port);
    receive_int(control);
    return 0;
  });
  ASSERT_TRUE(handler().handle_one());
  const auto port = receive_int(control_.get());
  ASSERT_TRUE(port);
  EXPECT_TRUE(spec_.range.contains(static_cast<uint16_t>(*port))) << *port;
  EXPECT_EQ(handler().counters().coordinated, 1u);
  send_int(control_.get(), 1);
  EXPECT_EQ(wait_child(), 0);
}

// The table is this network namespace's: a process of the job in a namespace of its own binds in
// a port space nobody else shares, and the kernel chooses there as it would.
TEST_F(InterceptTest, ABindInAnotherNetworkNamespaceContinuesUntouched) {
  start_child([](int control) {
    if (::unshare(CLONE_NEWNET) != 0) return 2;
    send_int(control, raw_bind(AF_INET, SOCK_DGRAM, 0).error);  // whatever the kernel says there
    return 0;
  });
  ASSERT_TRUE(handler().handle_one());
  const auto error = receive_int(control_.get());
  ASSERT_TRUE(error);
  EXPECT_EQ(handler().counters().continued, 1u);
  EXPECT_TRUE(handler().tracker().empty());
  EXPECT_EQ(wait_child(), 0);
}

TEST_F(InterceptTest, AnotherJobsPortIsRefusedWithEaddrinuse) {
  Claimant other = me();
  other.job_id = pack_identity(*read_process_identity(1));  // a live job that is not ours
  other.job_name = "other-job";
  ASSERT_EQ(table_->claim_port(Protocol::tcp, 20003, other).result, ClaimResult::claimed);
  start_child([](int control) {
    send_int(control, raw_bind(AF_INET, SOCK_STREAM, 20003).error);
    return 0;
  });
  ASSERT_TRUE(handler().handle_one());
  const auto error = receive_int(control_.get());
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, EADDRINUSE);
  EXPECT_EQ(wait_child(), 0);
}

TEST_F(InterceptTest, AnExplicitFreePortIsClaimedForTheJob) {
  start_child([](int control) {
    const BindOutcome bound = raw_bind(AF_INET6, SOCK_DGRAM, 20007);
    send_int(control, bound.error);
    receive_int(control);
    return 0;
  });
  ASSERT_TRUE(handler().handle_one());
  const auto error = receive_int(control_.get());
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, 0);
  const auto view = table_->view(Protocol::udp, 20007);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->state, SlotState::bound);
  send_int(control_.get(), 1);
  EXPECT_EQ(wait_child(), 0);
}

TEST_F(InterceptTest, AUnixSocketBindContinuesUntouched) {
  start_child([](int control) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const char name[] = "\0portsafe-itest-unix";
    std::memcpy(address.sun_path, name, sizeof name - 1);
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + sizeof name - 1);
    send_int(control, ::bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0 ? 0 : errno);
    return 0;
  });
  ASSERT_TRUE(handler().handle_one());
  const auto error = receive_int(control_.get());
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, 0);
  EXPECT_EQ(handler().counters().continued, 1u);
  EXPECT_EQ(handler().counters().coordinated, 0u);
  EXPECT_TRUE(handler().tracker().empty());
  EXPECT_EQ(wait_child(), 0);
}

}  // namespace
}  // namespace portsafe::testing
