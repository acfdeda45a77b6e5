#include "portsafe/process_identity.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace portsafe {
namespace {

TEST(ProcessIdentity, ReadsOwnStartTime) {
  const ProcessIdentity me = read_own_identity();
  EXPECT_EQ(me.pid, static_cast<uint32_t>(getpid()));
  EXPECT_GT(me.start_ticks, 0u);
  EXPECT_TRUE(is_process_alive(me));
}

TEST(ProcessIdentity, ReapedChildIsDead) {
  const pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  const auto identity = read_process_identity(child);
  ASSERT_TRUE(identity.has_value());
  EXPECT_TRUE(is_process_alive(*identity));
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_FALSE(is_process_alive(*identity));
}

TEST(ProcessIdentity, ZombieCountsAsDead) {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  // Until waited for, the child is a zombie: its sockets are closed, so it owns nothing.
  for (int i = 0; i < 1000 && read_process_identity(child).has_value(); ++i) usleep(1000);
  EXPECT_FALSE(read_process_identity(child).has_value());
  waitpid(child, nullptr, 0);
}

TEST(ProcessIdentity, ReusedPidWithOtherStartTimeIsDead) {
  ProcessIdentity me = read_own_identity();
  me.start_ticks += 1;
  EXPECT_FALSE(is_process_alive(me));
}

TEST(ProcessIdentity, PackRoundTrips) {
  const ProcessIdentity me = read_own_identity();
  EXPECT_EQ(unpack_identity(pack_identity(me)), me);
}

TEST(ProcessIdentity, ParsesTextForm) {
  const auto parsed = parse_identity("1234.5678");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->pid, 1234u);
  EXPECT_EQ(parsed->start_ticks, 5678u);
  for (const char* bad : {"", "1234", "1234.", ".5", "12a.5", "1.5x", "0.5", "99999999999.1", "-1.2"}) {
    EXPECT_FALSE(parse_identity(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace portsafe
