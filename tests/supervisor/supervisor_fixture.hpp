// Runs the real portsafed binary on a private runtime root for each test, and gives the test
// clients, raw connections and the table to look at. Waits are bounded polls, never sleeps that
// assert speed.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "portsafe/port_table.hpp"
#include "portsafe/runtime_root.hpp"
#include "portsafe/supervisor_client.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::testing {

inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A plain bind (no SO_REUSEADDR) of the wildcard address: what an unrelated program would do.
inline int plain_bind_error(Protocol proto, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, (proto == Protocol::udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? 0 : errno;
}

inline uint16_t local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/portsafed-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    ::chmod(root_.c_str(), 0700);
  }

  void TearDown() override {
    stop_supervisor();
    PortTable::remove(table_name(root_));
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }

  // Starts portsafed (foreground, never idle) with the given range and waits until it answers.
  pid_t start_supervisor(const std::string& range = "21000-21099") {
    ::setenv("PORTSAFE_RANGE", range.c_str(), 1);
    const pid_t child = ::fork();
    if (child == 0) {
      const char* argv[] = {PORTSAFED_PATH, "--foreground", "--runtime-dir", root_.c_str(), "--idle-timeout", "0",
                            "--log-level",  "warn",         nullptr};
      ::execv(PORTSAFED_PATH, const_cast<char* const*>(argv));
      ::_exit(127);
    }
    pid_ = child;
    // Answers, not merely accepts: the socket appears before start-up (re-holding a killed
    // supervisor's holds, reaping) is done, and connections wait in the backlog until then.
    const bool up = wait_until([&] {
      auto connected = SupervisorClient::connect_socket(socket_path());
      return connected.ok() && (*connected.value)->ping().ok();
    });
    EXPECT_TRUE(up) << "portsafed did not start";
    return child;
  }

  void stop_supervisor(int sig = SIGTERM) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string socket_path() const { return supervisor_socket_path(root_); }

  std::unique_ptr<SupervisorClient> client() {
    auto connected = SupervisorClient::connect_socket(socket_path());
    EXPECT_TRUE(connected.ok()) << connected.error.message;
    return connected.ok() ? std::move(*connected.value) : nullptr;
  }

  // A client that has opened a job named `name`.
  std::unique_ptr<SupervisorClient> job_client(const std::string& name, uint64_t job_id = 0) {
    auto c = client();
    if (!c) return nullptr;
    auto opened = c->open_job(name, job_id);
    EXPECT_TRUE(opened.ok()) << opened.error.message;
    return c;
  }

  UniqueFd raw_connect() {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path().c_str(), sizeof addr.sun_path - 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }

  std::unique_ptr<PortTable> table() {
    TableOpen opened = PortTable::open_existing(table_name(root_));
    EXPECT_TRUE(opened.table) << opened.message;
    return std::move(opened.table);
  }

  bool supervisor_answers() {
    auto c = SupervisorClient::connect_socket(socket_path());
    return c.ok() && (*c.value)->ping().ok();
  }

  std::string root_;
  pid_t pid_ = -1;
};

}  // namespace portsafe::testing
