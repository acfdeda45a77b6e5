// Issue 16: a host daemon out of descriptors (EMFILE at accept) must not spin: its listener
// stays readable while connections wait in the backlog, so it steps out of epoll until a
// descriptor comes free. Measured: the daemon's CPU time over one second with a connection
// waiting it cannot accept (a generous bound: a spinning loop uses the whole second).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "host_daemon_process.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::host::testing {
namespace {

// The lowest descriptor number the process has free: with RLIMIT_NOFILE there, accept fails.
size_t lowest_free_descriptor(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd/";
  size_t fd = 0;
  while (std::filesystem::exists(std::filesystem::symlink_status(dir + std::to_string(fd)))) ++fd;
  return fd;
}

// utime + stime in clock ticks (/proc/PID/stat fields 14 and 15).
long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;
  long utime = 0;
  long stime = 0;
  fields >> utime >> stime;
  return utime + stime;
}

UniqueFd connect_to(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) fd.reset();
  return fd;
}

TEST(HostAcceptOutOfDescriptors, TheDaemonWaitsInsteadOfSpinning) {
  if (::geteuid() != 0) GTEST_SKIP() << "portsafed --host runs as root";
  size_t steady = 0;
  {
    HostDaemonProcess probe;
    probe.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // its event loop is set up
    steady = lowest_free_descriptor(probe.pid());
  }
  ASSERT_GT(steady, 3u);
  // A limit at its lowest free descriptor once serving: the next accept fails with EMFILE.
  HostDaemonProcess daemon;
  daemon.start(static_cast<rlim_t>(steady));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(lowest_free_descriptor(daemon.pid()), steady);
  const UniqueFd waiting = connect_to(daemon.socket());  // lands in the backlog, never accepted
  ASSERT_TRUE(waiting);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  const long before = cpu_ticks(daemon.pid());
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long used = cpu_ticks(daemon.pid()) - before;
  std::printf("daemon CPU over 1 s with an unacceptable connection waiting: %ld ms\n",
              used * 1000 / ticks_per_second);
  EXPECT_LT(used, ticks_per_second / 2) << "the daemon spins on a listener it cannot accept from";
}

}  // namespace
}  // namespace portsafe::host::testing
