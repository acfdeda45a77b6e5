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
  BindOutcome out;
  out.fd = ::socket(family, type, 0);
  sockaddr_storage address{};
  socklen_t length = 0;
  if (family == AF_INET) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(address);
    v4.sin_family = AF_INET;
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof v4;
  } else {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
    v6.sin6_family = AF_INET6;
    v6.sin6_addr = in6addr_loopback;
    length = sizeof v6;
  }
  if (bind_unnotified(out.fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    out.error = errno;
    return out;
  }
  socklen_t size = sizeof address;
  ::getsockname(out.fd, reinterpret_cast<sockaddr*>(&address), &size);
  out.port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in&>(address).sin_port
                                     : reinterpret_cast<sockaddr_in6&>(address).sin6_port);
  return out;
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
