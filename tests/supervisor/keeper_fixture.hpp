// A PortKeeper on a private table, for the tests of holding a job's ports again after its
// supervisor went away. This test process leads the job.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <random>
#include <string>

#include "port_keeper.hpp"
#include "portsafe/process_identity.hpp"

namespace portsafe::supervisor {

inline constexpr uint16_t kLow = 30100;
inline constexpr uint16_t kHigh = 30199;

// The identity of a process that has ended (started, looked at, killed and reaped).
inline ProcessIdentity dead_process() {
  int ready[2];
  EXPECT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    char byte;
    [[maybe_unused]] const ssize_t n = ::read(ready[0], &byte, 1);
    ::_exit(0);
  }
  ::close(ready[0]);
  const auto identity = read_process_identity(child);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(ready[1]);
  EXPECT_TRUE(identity.has_value());
  return identity.value_or(ProcessIdentity{});
}

class PortKeeperRehold : public ::testing::Test {
 protected:
  void SetUp() override {
    // Unique on the host: parallel tests, each in its own PID namespace, may have equal pids.
    name_ = "/portsafe-keeper-rehold-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
    PortTable::remove(name_);
    TableSpec spec;
    spec.name = name_;
    spec.range = PortRange{kLow, kHigh};
    spec.socket_path = "/nonexistent/portsafed.sock";
    TableOpen opened = PortTable::open_or_create(spec);
    ASSERT_TRUE(opened.table) << opened.message;
    table_ = std::move(opened.table);
  }
  void TearDown() override {
    table_.reset();
    PortTable::remove(name_);
  }

  // This test process leads the job.
  JobInfo job() const { return JobInfo{pack_identity(read_own_identity()), "ci"}; }

  // A held slot as a SIGKILLed supervisor leaves it for this (live) job.
  void leave_dead_supervisors_hold(Protocol proto, uint16_t port) {
    Claimant who;
    who.process = dead_process();
    who.job_id = job().id;
    who.job_name = "ci";
    who.label = "web";
    ASSERT_EQ(table_->claim_port(proto, port, who, SlotState::held).result, ClaimResult::claimed);
  }

  SlotState state_of(Protocol proto, uint16_t port) const {
    const auto view = table_->view(proto, port);
    return view ? view->state : SlotState::free;
  }

  std::string name_;
  std::unique_ptr<PortTable> table_;
};

}  // namespace portsafe::supervisor
