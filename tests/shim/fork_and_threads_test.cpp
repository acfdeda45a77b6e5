// Fork children inherit sockets but not their claims (the parent stays the owner); a child's
// own binds are its own; threads picking at once never get the same port.
#include <sys/wait.h>

#include <atomic>
#include <set>
#include <thread>

#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

// Runs fn in a fork child and returns its exit status (fn's return value).
template <typename Fn>
int in_child(Fn fn) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(fn());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(ForkAndThreads, ChildClosingAnInheritedSocketLeavesTheParentsClaim) {
  const auto [fd, port] = bind_zero();
  ASSERT_EQ(in_child([fd = fd] { return ::close(fd) == 0 ? 0 : 1; }), 0);
  const SlotView view = slot(Protocol::tcp, port);
  EXPECT_EQ(view.state, SlotState::bound);
  EXPECT_EQ(view.pid, static_cast<uint32_t>(::getpid()));
  ASSERT_TRUE(serve_one_connection(fd)) << std::strerror(errno);
  ::close(fd);
  EXPECT_EQ(slot(Protocol::tcp, port).state, SlotState::free);
}

TEST(ForkAndThreads, ChildsOwnBindIsOwnedByTheChildAndReleasedByIt) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const int status = in_child([&] {
    const auto [fd, port] = bind_zero();
    const SlotView view = slot(Protocol::tcp, port);
    if (view.pid != static_cast<uint32_t>(::getpid()) || view.job_id != own_job_id()) return 2;
    if (!serve_one_connection(fd) || ::close(fd) != 0) return 3;
    if (slot(Protocol::tcp, port).state != SlotState::free) return 4;
    return ::write(pipe_fds[1], &port, sizeof port) == sizeof port ? 0 : 5;
  });
  EXPECT_EQ(status, 0) << "2: wrong owner, 3: serving/close failed, 4: not released";
  ::close(pipe_fds[1]);  // a child that wrote nothing then gives EOF, not a hang
  uint16_t port = 0;
  ASSERT_EQ(::read(pipe_fds[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  EXPECT_TRUE(in_test_range(port));
  ::close(pipe_fds[0]);
}

TEST(ForkAndThreads, ChildsUnusedPickLingersForTheJobAfterItExits) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ASSERT_EQ(in_child([&] {
              const auto [fd, port] = bind_zero();
              (void)fd;  // exits without closing: the table's reaper decides
              return ::write(pipe_fds[1], &port, sizeof port) == sizeof port ? 0 : 1;
            }),
            0);
  ::close(pipe_fds[1]);
  uint16_t port = 0;
  ASSERT_EQ(::read(pipe_fds[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  ASSERT_TRUE(table().reap_slot(*table().index_of(Protocol::tcp, port), monotonic_ms()));
  const SlotView view = slot(Protocol::tcp, port);
  EXPECT_EQ(view.state, SlotState::linger);
  EXPECT_EQ(pack_identity(view.owner), own_job_id());
  ::close(pipe_fds[0]);
}

TEST(ForkAndThreads, ConcurrentThreadsGetDistinctPorts) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 6;  // 24 of the range's 32 ports at once
  std::vector<std::thread> threads;
  std::vector<std::vector<uint16_t>> ports(kThreads);
  std::vector<std::vector<int>> fds(kThreads);
  std::atomic<bool> go{false};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        const sockaddr_in addr = loopback(0);
        if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
          ports[t].push_back(local_port(fd));
          fds[t].push_back(fd);
        }
      }
    });
  }
  go = true;
  for (auto& thread : threads) thread.join();
  std::set<uint16_t> seen;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(ports[t].size(), static_cast<size_t>(kPerThread));
    for (const uint16_t port : ports[t]) {
      EXPECT_TRUE(in_test_range(port));
      EXPECT_TRUE(seen.insert(port).second) << "port " << port << " picked twice";
    }
  }
  // Threads closing at once release each claim exactly once.
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const int fd : fds[t]) {
        serve_one_connection(fd);  // served: each claim is freed, not lingering
        ::close(fd);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(table().list().empty());
}

}  // namespace
}  // namespace portsafe::shim_test
