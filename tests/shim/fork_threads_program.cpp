// A GoogleTest program of the kind CI runs by the hundred: its tests fork and start threads, and
// each binds port 0. It knows nothing of portsafe; the black-box test preloads the shim and
// this program checks, against PORTSAFE_RANGE, that every port came from the range, distinct.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <thread>
#include <vector>

namespace {

std::pair<int, int> job_range() {
  int low = 0;
  int high = 0;
  const char* text = std::getenv("PORTSAFE_RANGE");
  if (text == nullptr || std::sscanf(text, "%d-%d", &low, &high) != 2) return {0, 0};
  return {low, high};
}

// Binds port 0, listens, returns {fd, port}.
std::pair<int, int> listen_on_port_zero() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 8) != 0) return {-1, 0};
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  return {fd, ntohs(addr.sin_port)};
}

void expect_in_range(int port) {
  const auto [low, high] = job_range();
  ASSERT_NE(low, 0) << "PORTSAFE_RANGE must be set for this program";
  EXPECT_GE(port, low);
  EXPECT_LE(port, high);
}

TEST(ForkingTest, ChildrenGetDistinctPortsFromTheRange) {
  constexpr int kChildren = 4;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kChildren; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const auto [fd, port] = listen_on_port_zero();
      const bool written = ::write(pipe_fds[1], &port, sizeof port) == sizeof port;
      ::usleep(50'000);  // hold the port while the siblings pick theirs
      ::close(fd);
      ::_exit(written && fd >= 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  ::close(pipe_fds[1]);
  std::set<int> ports;
  int port = 0;
  while (::read(pipe_fds[0], &port, sizeof port) == sizeof port) {
    std::printf("child port %d\n", port);
    expect_in_range(port);
    EXPECT_TRUE(ports.insert(port).second) << "port " << port << " given twice";
  }
  ::close(pipe_fds[0]);
  EXPECT_EQ(ports.size(), static_cast<size_t>(kChildren));
  for (const pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
}

TEST(ThreadedTest, ThreadsGetDistinctPortsFromTheRange) {
  constexpr int kThreads = 6;
  std::vector<std::pair<int, int>> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back([&results, i] { results[i] = listen_on_port_zero(); });
  for (auto& thread : threads) thread.join();
  std::set<int> ports;
  for (const auto& [fd, port] : results) {
    ASSERT_GE(fd, 0);
    std::printf("thread port %d\n", port);
    expect_in_range(port);
    EXPECT_TRUE(ports.insert(port).second) << "port " << port << " given twice";
    ::close(fd);
  }
}

}  // namespace
