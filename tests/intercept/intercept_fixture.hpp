// Multi-process fixture of the seccomp tier's unit tests: a private table, and a forked child that
// installs the bind filter and sends us the listener, then runs a body that binds with raw
// syscalls (as a Go or static program would) and reports over a control socket. The test serves
// the child's notifications itself, one handle_one() per expected bind, so every step is in order.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "intercept/bind_handler.hpp"
#include "portsafe/port_table.hpp"
#include "portsafe/unnotified_bind.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::testing {

// What a child's bind ended with: the port it got (getsockname) or the errno.
struct BindOutcome {
  int fd = -1;
  int error = 0;
  uint16_t port = 0;
};

// socket(family, type) and bind to loopback:port with a raw syscall (address length as given,
// default the family's sockaddr size).
BindOutcome raw_bind(int family, int type, uint16_t port, socklen_t length = 0);
// The same through bind_call (e.g. bind_unnotified): binds 127.0.0.1 or ::1 port `port`.
BindOutcome bind_loopback(int family, int type, uint16_t port, socklen_t length, BindCall bind_call);

// Child <-> test messages: one int each way.
bool send_int(int fd, int value);
std::optional<int> receive_int(int fd);

class InterceptTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Forks a child that installs the filter (with no_new_privs), sends the listener, runs body
  // with its control socket and exits with body's result. The listener lands in listener_.
  // killable false: the child's filter leaves out WAIT_KILLABLE_RECV (a signal can interrupt a
  // served bind before its answer, as before Linux 5.19).
  void start_child(const std::function<int(int control)>& body, bool killable = true);
  // Makes the handler over listener_ (the job: this process, range 20000-20015).
  intercept::BindHandler& handler();
  // Waits for the child's exit status (0 when body returned 0).
  int wait_child();

  Claimant me() const;

  TableSpec spec_;
  std::unique_ptr<PortTable> table_;
  pid_t child_ = -1;
  UniqueFd control_;
  UniqueFd listener_;
  bool killable_ = false;
  std::unique_ptr<intercept::BindHandler> handler_;
  // Runs in handler() between a served bind and its answer (set before handler() first runs).
  std::function<void(const seccomp_notif&)> before_answer_;
};

}  // namespace portsafe::testing
