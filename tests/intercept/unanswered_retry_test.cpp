// A bind we served whose answer found the call interrupted (a signal, before Linux 5.19's
// WAIT_KILLABLE_RECV) is retried by the program: that same retry is told 0 (its socket is bound
// already), while a call on the socket with another address gets the kernel's EINVAL. What a
// process that is gone never retried is forgotten at the next sweep.
#include <arpa/inet.h>
#include <sys/syscall.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "intercept/target_access.hpp"
#include "intercept_fixture.hpp"

namespace portsafe::testing {
namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

int raw_bind_errno(int fd, uint16_t port) {
  const sockaddr_in address = loopback(port);
  return ::syscall(SYS_bind, fd, &address, sizeof address) == 0 ? 0 : errno;
}

void on_signal(int) {}

// The child binds 20005 (interrupted: no SA_RESTART, so it sees EINTR), then binds the same socket
// to retry_port, reporting both errnos.
std::function<int(int)> bind_then_retry(uint16_t retry_port) {
  return [retry_port](int control) {
    struct sigaction action {};
    action.sa_handler = on_signal;
    ::sigaction(SIGUSR1, &action, nullptr);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    send_int(control, raw_bind_errno(fd, 20005));
    send_int(control, raw_bind_errno(fd, retry_port));
    return 0;
  };
}

class UnansweredRetryTest : public InterceptTest {
 protected:
  // The first served bind's caller is interrupted before its answer goes out.
  void interrupt_first_answer() {
    before_answer_ = [this, interrupted = false](const seccomp_notif& request) mutable {
      if (interrupted) return;
      interrupted = true;
      ::kill(child_, SIGUSR1);
      for (int i = 0; i < 1000 && intercept::notification_valid(handler_->listener(), request.id); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    };
  }
};

TEST_F(UnansweredRetryTest, TheSameRetryIsToldItsSocketIsBound) {
  interrupt_first_answer();
  start_child(bind_then_retry(20005), false);
  ASSERT_TRUE(handler().handle_one());
  EXPECT_EQ(handler().counters().lost, 1u) << "the answer was not lost: the test did not interrupt the call";
  EXPECT_EQ(receive_int(control_.get()), EINTR);
  ASSERT_TRUE(handler().handle_one());
  EXPECT_EQ(receive_int(control_.get()), 0);
  EXPECT_EQ(wait_child(), 0);
}

TEST_F(UnansweredRetryTest, ACallWithAnotherAddressIsNotTakenForTheRetry) {
  interrupt_first_answer();
  start_child(bind_then_retry(20006), false);
  ASSERT_TRUE(handler().handle_one());
  EXPECT_EQ(handler().counters().lost, 1u) << "the answer was not lost: the test did not interrupt the call";
  EXPECT_EQ(receive_int(control_.get()), EINTR);
  ASSERT_TRUE(handler().handle_one());
  EXPECT_EQ(receive_int(control_.get()), EINVAL) << "a bind of a bound socket to another port was told it worked";
  EXPECT_EQ(wait_child(), 0);
}

TEST_F(UnansweredRetryTest, ALostAnswerOfAGoneProcessIsForgottenAtTheSweep) {
  interrupt_first_answer();
  start_child(
      [](int control) {
        struct sigaction action {};
        action.sa_handler = on_signal;
        ::sigaction(SIGUSR1, &action, nullptr);
        send_int(control, raw_bind_errno(::socket(AF_INET, SOCK_STREAM, 0), 20005));
        return 0;  // and never retries
      },
      false);
  ASSERT_TRUE(handler().handle_one());
  EXPECT_EQ(receive_int(control_.get()), EINTR);
  EXPECT_EQ(handler().unanswered_binds(), 1u);
  handler().sweep();
  EXPECT_EQ(handler().unanswered_binds(), 1u) << "forgotten while its process lives";
  EXPECT_EQ(wait_child(), 0);
  handler().sweep();
  EXPECT_EQ(handler().unanswered_binds(), 0u) << "the lost answer of a gone process is still remembered";
}

}  // namespace
}  // namespace portsafe::testing
