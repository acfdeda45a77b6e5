// Reading a target is bracketed by SECCOMP_IOCTL_NOTIF_ID_VALID: while the call waits the
// address and the socket can be read and taken; once the target is gone (its pid free for reuse)
// nothing is read from it and no descriptor is taken. The check itself is what refuses: a
// notification already answered is refused while its target lives on, where /proc/PID/mem and
// pidfd_open would both still succeed.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <vector>

#include "intercept/target_access.hpp"
#include "intercept_fixture.hpp"

namespace portsafe::testing {
namespace {

TEST_F(InterceptTest, ANotificationIsReadWhileValidAndNotAfterItsTargetDied) {
  start_child([](int control) {
    send_int(control, raw_bind(AF_INET, SOCK_STREAM, 0).error);
    return 0;
  });
  pollfd waiting{listener_.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&waiting, 1, 10'000), 1);
  std::vector<unsigned char> buffer(512, 0);
  auto& request = *reinterpret_cast<seccomp_notif*>(buffer.data());
  ASSERT_EQ(::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &request), 0);

  EXPECT_TRUE(intercept::notification_valid(listener_.get(), request.id));
  const auto address = intercept::read_bind_address(listener_.get(), request);
  ASSERT_TRUE(address);
  EXPECT_EQ(address->length, sizeof(sockaddr_in));
  EXPECT_EQ(address->storage.ss_family, AF_INET);
  EXPECT_TRUE(intercept::take_target_descriptor(listener_.get(), request).valid());

  ::kill(child_, SIGKILL);
  EXPECT_EQ(wait_child(), 128 + SIGKILL);
  EXPECT_FALSE(intercept::notification_valid(listener_.get(), request.id));
  EXPECT_FALSE(intercept::read_bind_address(listener_.get(), request));
  EXPECT_FALSE(intercept::take_target_descriptor(listener_.get(), request).valid());
}

TEST_F(InterceptTest, AnAnsweredNotificationIsNotReadThoughItsTargetLives) {
  start_child([](int control) {
    // The socket stays open and the stack stays mapped: only the notification's id is stale.
    const BindOutcome bound = raw_bind(AF_INET, SOCK_STREAM, 0);
    send_int(control, bound.error);
    return receive_int(control).value_or(-1);
  });
  pollfd waiting{listener_.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&waiting, 1, 10'000), 1);
  std::vector<unsigned char> buffer(512, 0);
  auto& request = *reinterpret_cast<seccomp_notif*>(buffer.data());
  ASSERT_EQ(::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &request), 0);

  seccomp_notif_resp answer{};
  answer.id = request.id;
  answer.error = -EACCES;
  ASSERT_EQ(::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, &answer), 0);
  ASSERT_EQ(receive_int(control_.get()), EACCES) << "the child did not get our answer";

  EXPECT_FALSE(intercept::notification_valid(listener_.get(), request.id));
  EXPECT_FALSE(intercept::read_bind_address(listener_.get(), request));
  EXPECT_FALSE(intercept::take_target_descriptor(listener_.get(), request).valid());
  send_int(control_.get(), 0);
  EXPECT_EQ(wait_child(), 0);
}

}  // namespace
}  // namespace portsafe::testing
