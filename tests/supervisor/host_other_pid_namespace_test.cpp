// Issue 16: the host daemon checks an account's claims by their owners' pids, which mean
// something only in its own PID namespace. A caller in another PID namespace (a container
// sharing the network namespace) gets no block, with a reason, instead of blocks whose claims
// the daemon would misjudge (dead, so reclaimed under it; or alive, so never freed).
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host_daemon_process.hpp"
#include "host_fixture.hpp"
#include "portsafe/host_client.hpp"

namespace portsafe::host::testing {
namespace {

class OtherPidNamespace : public HostTest {};

// 0: granted; 3: refused as not permitted; other: anything else.
int lease_from(const std::string& socket, const std::string& table, bool new_pid_namespace) {
  const pid_t child = ::fork();
  if (child == 0) {
    if (new_pid_namespace) {
      if (::unshare(CLONE_NEWPID) != 0) ::_exit(4);
      const pid_t inner = ::fork();  // the first child of the new namespace is its pid 1
      if (inner == 0) {
        const HostClient client(socket.c_str());
        const HostReply reply = client.lease(table.c_str(), 2'000);
        ::_exit(reply.answer == HostAnswer::granted ? 0
                : reply.answer == HostAnswer::refused && reply.refusal == wire::ErrorCode::not_permitted ? 3
                                                                                                          : 1);
      }
      int status = 0;
      ::waitpid(inner, &status, 0);
      ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 5);
    }
    const HostClient client(socket.c_str());
    ::_exit(client.lease(table.c_str(), 2'000).answer == HostAnswer::granted ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 6;
}

TEST_F(OtherPidNamespace, ACallerInAnotherPidNamespaceGetsNoBlock) {
  HostDaemonProcess daemon;
  daemon.start();
  PortTable& table = make_table(0, HostDaemonProcess::kRange);
  const int other = lease_from(daemon.socket(), table.name(), true);
  if (other == 4) GTEST_SKIP() << "cannot make a PID namespace here";
  EXPECT_EQ(other, 3) << "a caller in another PID namespace must be refused (not permitted)";
  const RegistryOpen view = HostRegistry::open(daemon.dir());
  ASSERT_TRUE(view.registry) << view.reason;
  EXPECT_EQ(view.registry->free_blocks(), view.registry->block_count());
  EXPECT_EQ(lease_from(daemon.socket(), table.name(), false), 0) << "the same table from our namespace gets one";
}

}  // namespace
}  // namespace portsafe::host::testing
