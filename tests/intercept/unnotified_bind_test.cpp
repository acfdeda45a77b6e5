// The shim's allow rule: this kernel accepts an inet bind whose address is padded to
// kUnnotifiedBindLength (IPv4 and IPv6, TCP and UDP), and under the filter such a bind passes
// without a notification, so a program the shim reaches keeps the shim's speed.
#include <arpa/inet.h>
#include <poll.h>

#include "intercept_fixture.hpp"
#include "portsafe/unnotified_bind.hpp"

namespace portsafe::testing {
namespace {

BindOutcome padded_bind(int family, int type) {
  return bind_loopback(family, type, 0, 0, [](int fd, const sockaddr* addr, socklen_t length) {
    return bind_unnotified(fd, addr, length);
  });
}

TEST(UnnotifiedBind, TheKernelAcceptsThePaddedLengthForEveryFamilyAndType) {
  for (const int family : {AF_INET, AF_INET6}) {
    for (const int type : {SOCK_STREAM, SOCK_DGRAM}) {
      const BindOutcome bound = padded_bind(family, type);
      EXPECT_EQ(bound.error, 0) << family << "/" << type << ": " << std::strerror(bound.error);
      EXPECT_NE(bound.port, 0);
      ::close(bound.fd);
    }
  }
}

TEST(UnnotifiedBind, IsNoLengthARealProgramPasses) {
  for (const socklen_t common : {16u, 24u, 28u, 110u, 128u}) EXPECT_NE(kUnnotifiedBindLength, common);
}

TEST(UnnotifiedBind, AShortIpv4AddressOnAnIpv6SocketStillFailsWithEinval) {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  EXPECT_NE(bind_unnotified(fd, reinterpret_cast<sockaddr*>(&v4), sizeof v4), 0);
  EXPECT_EQ(errno, EINVAL);  // as ::bind says for this length
  ::close(fd);
}

TEST_F(InterceptTest, ThePaddedBindPassesTheFilterWithoutANotification) {
  start_child([](int control) {
    for (const int family : {AF_INET, AF_INET6}) {
      for (const int type : {SOCK_STREAM, SOCK_DGRAM}) send_int(control, padded_bind(family, type).error);
    }
    return 0;
  });
  for (int i = 0; i < 4; ++i) {
    const auto error = receive_int(control_.get());  // no answer from us was needed
    ASSERT_TRUE(error);
    EXPECT_EQ(*error, 0);
  }
  EXPECT_EQ(wait_child(), 0);
  pollfd pending{listener_.get(), POLLIN, 0};
  ASSERT_GE(::poll(&pending, 1, 0), 0);
  EXPECT_EQ(pending.revents & POLLIN, 0);
}

}  // namespace
}  // namespace portsafe::testing
