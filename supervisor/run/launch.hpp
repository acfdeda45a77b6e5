// Starting COMMAND: fork, place the --listen sockets at descriptors 3, 4, ... (systemd socket
// activation), fill in LISTEN_PID with the child's own pid, and exec. Everything the child needs
// is prepared before fork, so the child only makes async-signal-safe calls.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "portsafe/unique_fd.hpp"
#include "run/child_environment.hpp"

namespace portsafe::run {

struct LaunchPlan {
  std::string path;               // the resolved program (lookup_program)
  std::vector<std::string> argv;  // argv[0] as the user wrote it
  ChildEnvironment environment;
  std::vector<UniqueFd> pass_fds;  // become 3, 4, ... in COMMAND (in --listen order)
  // The seccomp tier: the child installs the bind filter just before exec and sends the listener
  // over filter_channel (see intercept/listener_transfer.hpp).
  UniqueFd filter_channel;
  bool set_no_new_privs = false;  // without CAP_SYS_ADMIN the kernel requires it
  bool require_filter = false;    // --intercept seccomp: exit 125 when the filter cannot go in
  // --virtual in bpf mode: the job cgroup's cgroup.procs (not owned), which the child joins
  // before exec, so every process of COMMAND is under the rewriting programs from its first bind.
  int cgroup_procs = -1;
};

struct Launch {
  pid_t pid = -1;       // -1: fork failed (exec_errno says why)
  int exec_errno = 0;   // non-zero: the child could not exec and has exited
};

// child_mask: the signal mask COMMAND starts with (portsafe-run's own, before it blocked the
// signals it forwards).
Launch launch_command(LaunchPlan& plan, const sigset_t& child_mask);

// env's convention: 127 when the program does not exist, 126 when it exists but cannot run.
int exit_code_for_exec_errno(int error) noexcept;

}  // namespace portsafe::run
