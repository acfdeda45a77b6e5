// Issue 16: the host daemon runs with every descriptor it may have (RLIMIT_NOFILE raised to the
// hard limit) and serves fewer clients than that limit minus a reserve, so a flood of
// connections never leaves it unable to open an account's table (which would leave that
// table's claims unknown) or to accept once a client closes.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "host_server.hpp"

namespace portsafe::host {
namespace {

TEST(HostDescriptorLimit, ClientsStayBelowTheLimitMinusAReserve) {
  EXPECT_EQ(connection_limit(1024), 1024 - kReservedDescriptors) << "a soft limit of 1024 (the usual default)";
  EXPECT_LE(connection_limit(1024) + kReservedDescriptors, 1024u);
  EXPECT_EQ(connection_limit(1u << 20), kMaxConnections);
  EXPECT_EQ(connection_limit(kReservedDescriptors), 0u);
  EXPECT_EQ(connection_limit(0), 0u);
}

TEST(HostDescriptorLimit, TheSoftLimitIsRaisedToTheHardLimit) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max < 256) GTEST_SKIP() << "hard limit too low to lower the soft one";
  rlimit lowered = saved;
  lowered.rlim_cur = 128;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  const uint64_t now_soft = raise_open_files_limit();
  rlimit after{};
  ::getrlimit(RLIMIT_NOFILE, &after);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_EQ(after.rlim_cur, saved.rlim_max);
  EXPECT_EQ(now_soft, saved.rlim_max == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(saved.rlim_max));
}

}  // namespace
}  // namespace portsafe::host
