// Lifetimes: a job's ports go back when its connection closes (exit or SIGKILL of the client);
// a supervisor killed mid-operation is replaced cleanly: its holds are reaped, live claims kept.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>

#include "portsafe/process_identity.hpp"
#include "supervisor_fixture.hpp"

namespace portsafe::testing {
namespace {

class Lifetime : public SupervisorTest {
 protected:
  bool port_free(Protocol proto, uint16_t port) {
    auto t = table();
    return t && t->view(proto, port)->state == SlotState::free && plain_bind_error(proto, port) == 0;
  }
  int lock_file_pid() {
    std::ifstream lock(root_ + "/portsafed.lock");
    int pid = 0;
    lock >> pid;
    return pid;
  }
};

TEST_F(Lifetime, ClosingTheJobConnectionReleasesItsPorts) {
  start_supervisor();
  auto c = job_client("ci");
  const auto reserved = c->reserve({{"web", Protocol::tcp, 0}, {"dns", Protocol::udp, 0}});
  ASSERT_TRUE(reserved.ok());
  c.reset();
  for (const auto& p : reserved.value->ports) {
    EXPECT_TRUE(wait_until([&] { return port_free(p.proto, p.port); }, std::chrono::seconds(1))) << p.name;
  }
}

TEST_F(Lifetime, SigkillOfTheClientReleasesItsPortsWithinASecond) {
  start_supervisor();
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    auto connected = SupervisorClient::connect_socket(socket_path());
    if (!connected.ok() || !(*connected.value)->open_job("doomed", 0).ok()) ::_exit(1);
    auto reserved = (*connected.value)->reserve({{"web", Protocol::tcp, 0}, {"dns", Protocol::udp, 0}});
    if (!reserved.ok()) ::_exit(1);
    uint16_t ports[2] = {reserved.value->ports[0].port, reserved.value->ports[1].port};
    if (::write(pipe_fds[1], ports, sizeof ports) != sizeof ports) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  uint16_t ports[2] = {};
  ASSERT_EQ(::read(pipe_fds[0], ports, sizeof ports), static_cast<ssize_t>(sizeof ports));
  ::close(pipe_fds[0]);
  EXPECT_EQ(plain_bind_error(Protocol::tcp, ports[0]), EADDRINUSE);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(wait_until([&] { return port_free(Protocol::tcp, ports[0]); }, std::chrono::seconds(1)));
  EXPECT_TRUE(wait_until([&] { return port_free(Protocol::udp, ports[1]); }, std::chrono::seconds(1)));
}

TEST_F(Lifetime, ASupervisorKilledMidOperationIsReplacedCleanly) {
  start_supervisor();
  // A live claim that is not the supervisor's: this test process binds a port through the table.
  auto t = table();
  Claimant me;
  me.process = read_own_identity();
  me.job_id = pack_identity(me.process);
  const PortClaim live = t->claim_port(Protocol::tcp, 21050, me);
  ASSERT_EQ(live.result, ClaimResult::claimed);
  // A client reserving and releasing as fast as it can while the supervisor is killed.
  const pid_t busy = ::fork();
  if (busy == 0) {
    auto connected = SupervisorClient::connect_socket(socket_path());
    if (!connected.ok() || !(*connected.value)->open_job("busy", 0).ok()) ::_exit(1);
    auto& c = *connected.value;
    while (true) {
      auto reserved = c->reserve({{"a", Protocol::tcp, 0}, {"b", Protocol::udp, 0}});
      if (!reserved.ok()) ::_exit(0);
      for (const auto& p : reserved.value->ports) c->release(p.proto, p.port);
      (void)c->reserve({{"kept", Protocol::tcp, 0}});
    }
  }
  ASSERT_TRUE(wait_until([&] { return t->counters().picks > 50; }));
  const int old_pid = pid_;
  stop_supervisor(SIGKILL);
  ::waitpid(busy, nullptr, 0);
  bool any_held = false;
  for (const auto& v : t->list()) any_held = any_held || v.state == SlotState::held;
  EXPECT_TRUE(any_held) << "the killed supervisor should have left holds behind";

  start_supervisor();
  EXPECT_NE(pid_, old_pid);
  EXPECT_EQ(lock_file_pid(), pid_);
  for (const auto& v : t->list()) {
    EXPECT_NE(v.state, SlotState::held) << "port " << v.port << " still held by the dead supervisor";
    EXPECT_NE(v.state, SlotState::busy) << "port " << v.port;
  }
  const auto kept = t->view(Protocol::tcp, 21050);
  EXPECT_EQ(kept->state, SlotState::bound);
  EXPECT_EQ(kept->pid, me.process.pid);
  auto c = job_client("after");
  EXPECT_TRUE(c->reserve({{"web", Protocol::tcp, 0}}).ok());
  t->drop(live.ref, me.process);
}

TEST_F(Lifetime, ASecondSupervisorLeavesTheRootToTheFirst) {
  start_supervisor();
  const pid_t second = ::fork();
  if (second == 0) {
    const char* argv[] = {PORTSAFED_PATH, "--foreground", "--runtime-dir", root_.c_str(), nullptr};
    ::execv(PORTSAFED_PATH, const_cast<char* const*>(argv));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(second, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(lock_file_pid(), pid_);
  EXPECT_TRUE(supervisor_answers());
}

}  // namespace
}  // namespace portsafe::testing
