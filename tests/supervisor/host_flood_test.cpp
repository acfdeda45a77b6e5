// Issue 16: one account flooding the host daemon's socket (connections it never finishes,
// garbage frames, a storm of connects) does not keep another account's lease or query from
// being answered.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>

#include "host_daemon_process.hpp"
#include "host_fixture.hpp"
#include "host_server.hpp"

namespace portsafe::host::testing {
namespace {

constexpr int kVictimCalls = 60;
// Each call's budget here. What is proven is that the flood cannot shut the other account out
// (refused at the door, or never read), which no budget cures; the client's own 200 ms is the
// production figure, and a loaded CI host can miss it by scheduling alone (seen once: 53 of 60).
constexpr int kCallBudgetMs = 2000;

// Runs until killed: keeps as many connections open as it can, each sending a partial or a
// bogus frame, and reconnects as fast as the daemon closes them.
[[noreturn]] void flood(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  std::vector<int> open;
  const uint8_t partial[5] = {0x50, 0x53, 0x46, 0x57, 0x01};  // half a header, never finished
  const uint8_t garbage[64] = {0xff};
  for (uint64_t n = 0;; ++n) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
      if (n % 2 == 0) {
        (void)!::send(fd, partial, sizeof partial, MSG_NOSIGNAL);
      } else {
        (void)!::send(fd, garbage, sizeof garbage, MSG_NOSIGNAL);
      }
      open.push_back(fd);
    } else if (fd >= 0) {
      ::close(fd);
    }
    if (open.size() >= 512) {  // our own descriptors: let the oldest go and start over
      for (const int old : open) ::close(old);
      open.clear();
    }
  }
}

class HostFlood : public HostTest {
 protected:
  void TearDown() override {
    if (flooder_ > 0) {
      ::kill(flooder_, SIGKILL);
      ::waitpid(flooder_, nullptr, 0);
    }
    daemon_.stop();
    HostTest::TearDown();
  }
  HostDaemonProcess daemon_;
  pid_t flooder_ = -1;
};

TEST_F(HostFlood, AnotherAccountIsStillAnsweredInTime) {
  daemon_.start();
  PortTable& theirs = make_table(kOtherUid, HostDaemonProcess::kRange);
  flooder_ = ::fork();
  if (flooder_ == 0) flood(daemon_.socket());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the flood is under way

  // The victim, as another uid: every call must be answered (not "unreachable").
  const pid_t victim = ::fork();
  if (victim == 0) {
    if (::setresgid(kOtherUid, kOtherUid, kOtherUid) != 0 || ::setresuid(kOtherUid, kOtherUid, kOtherUid) != 0) {
      ::_exit(255);
    }
    const HostClient client(daemon_.socket().c_str());
    int unanswered = 0;
    for (int i = 0; i < kVictimCalls; ++i) {
      const HostReply reply = i % 10 == 0 ? client.lease(theirs.name().c_str(), kCallBudgetMs)
                                          : client.query(Protocol::tcp, static_cast<uint16_t>(30400 + i), kCallBudgetMs);
      if (reply.answer == HostAnswer::unreachable) ++unanswered;
    }
    ::_exit(unanswered);
  }
  // Meanwhile the flooder never gets past its share: the daemon's descriptors stay within one
  // account's connections (plus the victim's one and the daemon's own few).
  size_t most_fds = 0;
  for (int sample = 0; sample < 20; ++sample) {
    size_t fds = 0;
    std::error_code ignored;
    for (auto it = std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", daemon_.pid()), ignored);
         it != std::filesystem::directory_iterator(); it.increment(ignored)) {
      ++fds;
    }
    most_fds = std::max(most_fds, fds);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_LE(most_fds, kMaxConnectionsPerUid + 1 + 16) << "the flooding account got more than its share of connections";
  int status = 0;
  ASSERT_EQ(::waitpid(victim, &status, 0), victim);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "calls of the other account left unanswered under the flood";
}

}  // namespace
}  // namespace portsafe::host::testing
