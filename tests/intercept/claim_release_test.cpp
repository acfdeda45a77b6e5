// A claim made by the handler ends when the kernel's socket table lists no socket on its port
// (sock_diag), never while its socket lives (also when another process still has it, or the
// number was bound again): a socket that never carried traffic lingers for the job, one that did
// frees its port.
#include <arpa/inet.h>
#include <sys/syscall.h>

#include "intercept_fixture.hpp"

namespace portsafe::testing {
namespace {

// The child binds port 0 over the handler, reports the port, then on each "go" does the next
// step of `steps` and acknowledges it.
class ClaimReleaseTest : public InterceptTest {
 protected:
  uint16_t bind_in_child(const std::function<int(int control)>& body) {
    start_child(body);
    EXPECT_TRUE(handler().handle_one());
    const auto port = receive_int(control_.get());
    EXPECT_TRUE(port && *port > 0);
    return port ? static_cast<uint16_t>(*port) : 0;
  }
  void step() {
    send_int(control_.get(), 1);
    ASSERT_TRUE(receive_int(control_.get()));
  }
  SlotState state_of(Protocol proto, uint16_t port) const { return table_->view(proto, port)->state; }
};

TEST_F(ClaimReleaseTest, AnUnusedSocketKeepsItsClaimWhileOpenAndLingersOnceClosed) {
  const uint16_t port = bind_in_child([](int control) {
    const BindOutcome bound = raw_bind(AF_INET, SOCK_STREAM, 0);
    send_int(control, bound.port);
    receive_int(control);
    ::syscall(SYS_close, bound.fd);  // a raw close: nobody sees it
    send_int(control, 1);
    receive_int(control);
    return 0;
  });
  EXPECT_EQ(handler().tracker().sweep(), 0u);
  EXPECT_EQ(state_of(Protocol::tcp, port), SlotState::bound);
  step();
  EXPECT_EQ(handler().tracker().sweep(), 1u);
  EXPECT_EQ(state_of(Protocol::tcp, port), SlotState::linger);
  send_int(control_.get(), 1);
  EXPECT_EQ(wait_child(), 0);
}

TEST_F(ClaimReleaseTest, AServedConnectionMarksTheClaimUsedAndItsEndFreesThePort) {
  const uint16_t port = bind_in_child([](int control) {
    const BindOutcome server = raw_bind(AF_INET6, SOCK_STREAM, 0);
    ::listen(server.fd, 1);
    const int client = ::socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_addr = in6addr_loopback;
    to.sin6_port = htons(server.port);
    ::connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to);  // no bind call: no notification
    const int accepted = ::accept(server.fd, nullptr, nullptr);
    send_int(control, server.port);
    receive_int(control);
    ::close(accepted);
    ::close(client);
    ::close(server.fd);
    send_int(control, 1);
    receive_int(control);
    return 0;
  });
  EXPECT_EQ(handler().tracker().sweep(), 0u);
  EXPECT_NE(table_->view(Protocol::tcp, port)->flags & kSlotUsed, 0u);
  step();
  EXPECT_EQ(handler().tracker().sweep(), 1u);
  EXPECT_EQ(state_of(Protocol::tcp, port), SlotState::free);
  send_int(control_.get(), 1);
  EXPECT_EQ(wait_child(), 0);
}

TEST_F(ClaimReleaseTest, AConnectedUdpSocketFreesItsPortWhenClosed) {
  const uint16_t port = bind_in_child([](int control) {
    const BindOutcome bound = raw_bind(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(9);
    ::connect(bound.fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
    send_int(control, bound.port);
    receive_int(control);
    ::close(bound.fd);
    send_int(control, 1);
    receive_int(control);
    return 0;
  });
  EXPECT_EQ(handler().tracker().sweep(), 0u);
  step();
  EXPECT_EQ(handler().tracker().sweep(), 1u);
  EXPECT_EQ(state_of(Protocol::udp, port), SlotState::free);
  send_int(control_.get(), 1);
  EXPECT_EQ(wait_child(), 0);
}

TEST_F(ClaimReleaseTest, ASocketAnotherProcessStillHasKeepsItsClaim) {
  const uint16_t port = bind_in_child([](int control) {
    const BindOutcome bound = raw_bind(AF_INET, SOCK_DGRAM, 0);
    int ready[2];
    if (::pipe(ready) != 0) return 1;
    const pid_t keeper = ::fork();  // inherits the socket and keeps it until killed
    if (keeper == 0) {
      ::close(ready[0]);
      ::close(ready[1]);
      ::pause();
      ::_exit(0);
    }
    ::close(ready[0]);
    ::close(ready[1]);
    send_int(control, bound.port);
    receive_int(control);
    ::close(bound.fd);  // our copy only
    send_int(control, 1);
    receive_int(control);
    ::kill(keeper, SIGKILL);
    ::waitpid(keeper, nullptr, 0);
    send_int(control, 1);
    receive_int(control);
    return 0;
  });
  step();  // the child closed its copy
  EXPECT_EQ(handler().tracker().sweep(), 0u);
  EXPECT_EQ(state_of(Protocol::udp, port), SlotState::bound);
  step();  // the last copy is gone
  EXPECT_EQ(handler().tracker().sweep(), 1u);
  EXPECT_EQ(state_of(Protocol::udp, port), SlotState::linger);
  send_int(control_.get(), 1);
  EXPECT_EQ(wait_child(), 0);
}

// The idiom: the picked socket is closed and the number bound again (by a server of the job).
// That second socket keeps the claim though it was never bound as a claim of its own.
TEST_F(ClaimReleaseTest, TheNumberBoundAgainAfterTheCloseKeepsTheClaim) {
  const uint16_t port = bind_in_child([](int control) {
    const BindOutcome picked = raw_bind(AF_INET, SOCK_STREAM, 0);
    send_int(control, picked.port);
    ::close(picked.fd);
    const BindOutcome again = raw_bind(AF_INET, SOCK_STREAM, picked.port);
    send_int(control, again.error);
    receive_int(control);
    ::close(again.fd);
    send_int(control, 1);
    receive_int(control);
    return 0;
  });
  ASSERT_TRUE(handler().handle_one());  // the second bind: the job's own claim, bound as asked
  const auto error = receive_int(control_.get());
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, 0);
  EXPECT_EQ(handler().tracker().sweep(), 0u);
  EXPECT_EQ(state_of(Protocol::tcp, port), SlotState::bound);
  step();  // the second socket is gone too
  EXPECT_EQ(handler().tracker().sweep(), 1u);
  EXPECT_EQ(state_of(Protocol::tcp, port), SlotState::linger);
  send_int(control_.get(), 1);
  EXPECT_EQ(wait_child(), 0);
}

TEST_F(ClaimReleaseTest, TheJobsEndReleasesWhatIsLeft) {
  const uint16_t port = bind_in_child([](int control) {
    const BindOutcome bound = raw_bind(AF_INET, SOCK_STREAM, 0);
    send_int(control, bound.port);
    receive_int(control);
    return 0;
  });
  handler().tracker().release_all();
  EXPECT_EQ(state_of(Protocol::tcp, port), SlotState::linger);
  EXPECT_TRUE(handler().tracker().empty());
  send_int(control_.get(), 1);
  EXPECT_EQ(wait_child(), 0);
}

}  // namespace
}  // namespace portsafe::testing
