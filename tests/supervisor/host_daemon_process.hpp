// The real `portsafed --host` as a child of the test, with a registry of its own
// (PORTSAFE_RANGE 30400-30527, --block-size 32: 4 blocks), stopped by the test (also on failure).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "portsafe/host_registry.hpp"

namespace portsafe::host::testing {

class HostDaemonProcess {
 public:
  static constexpr PortRange kRange{30400, 30527};

  ~HostDaemonProcess() {
    stop();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // open_files > 0: the daemon's RLIMIT_NOFILE (soft and hard), set before it starts.
  void start(rlim_t open_files = 0) {
    char pattern[] = "/tmp/portsafe-hostd-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ::chmod(dir_.c_str(), 0755);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setenv("PORTSAFE_RANGE", "30400-30527", 1);
      if (open_files > 0) {
        const rlimit files{open_files, open_files};
        ::setrlimit(RLIMIT_NOFILE, &files);
      }
      ::execl(PORTSAFED_PATH, "portsafed", "--host", "--host-dir", dir_.c_str(), "--block-size", "32",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 500 && ::access(socket().c_str(), F_OK) != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(::access(socket().c_str(), F_OK), 0) << "portsafed --host did not start";
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  std::string socket() const { return host_socket_path(dir_); }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace portsafe::host::testing
