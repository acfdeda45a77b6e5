// Issue 16: a fixed-port check into another account's block asks the host daemon; when the
// daemon is unreachable or slow (no answer within 200 ms), the account fails open and asks no
// more for a second, as leases do: a hung daemon costs one bind 200 ms, not every bind.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "host_fixture.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::host::testing {
namespace {

class QueryBackoff : public HostTest {
 protected:
  // A socket that takes connections into its backlog and never answers: a hung daemon.
  std::string start_silent_daemon() {
    const std::string path = dir_ + "/silent.sock";
    silent_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(silent_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(silent_.get(), 64), 0);
    return path;
  }
  UniqueFd silent_;
};

TEST_F(QueryBackoff, ASlowDaemonIsNotAskedAgainForASecond) {
  PortTable& mine = make_table(0);
  writer_->grant(1, kOtherUid, account_table_name(), monotonic_ms());
  const auto leases = leases_for(mine, 0, start_silent_daemon());
  const uint16_t port = open_view()->block_range(1).low;
  EXPECT_FALSE(leases->taken_by_other_account(Protocol::tcp, port)) << "no answer: fail open";
  EXPECT_EQ(leases->queries_asked(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(leases->taken_by_other_account(Protocol::tcp, port));
  EXPECT_EQ(leases->queries_asked(), 1u) << "inside the back-off no query is sent";
}

TEST_F(QueryBackoff, AnUnreachableDaemonIsNotAskedAgainForASecond) {
  PortTable& mine = make_table(0);
  writer_->grant(1, kOtherUid, account_table_name(), monotonic_ms());
  const auto leases = leases_for(mine, 0);  // no socket at all
  const uint16_t port = open_view()->block_range(1).low;
  EXPECT_FALSE(leases->taken_by_other_account(Protocol::udp, port));
  EXPECT_FALSE(leases->taken_by_other_account(Protocol::udp, port));
  EXPECT_EQ(leases->queries_asked(), 1u);
}

}  // namespace
}  // namespace portsafe::host::testing
