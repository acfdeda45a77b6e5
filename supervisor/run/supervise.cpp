#include "run/supervise.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace portsafe::run {
namespace {

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

int code_of_status(int status) noexcept {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 125;
}

// A terminal sends SIGINT/SIGQUIT (and SIGHUP on hangup) to the whole foreground process group,
// which COMMAND shares with us: it has its own copy already, and a second one would make e.g.
// pytest abort its teardown. Signals from kill(2) (a CI runner, a user) are forwarded.
bool already_delivered_by_terminal(const siginfo_t& info) noexcept {
  return info.si_code == SI_KERNEL && (info.si_signo == SIGINT || info.si_signo == SIGQUIT || info.si_signo == SIGHUP);
}

}  // namespace

const int* forwarded_signals(size_t* count) noexcept {
  *count = sizeof kForwarded / sizeof kForwarded[0];
  return kForwarded;
}

bool block_job_signals(sigset_t* previous) noexcept {
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : kForwarded) sigaddset(&set, sig);
  sigaddset(&set, SIGCHLD);
  return ::sigprocmask(SIG_BLOCK, &set, previous) == 0;
}

bool become_subreaper() noexcept { return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0; }

int wait_exit_code(pid_t child) noexcept {
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return 125;
  }
  return code_of_status(status);
}

int supervise_child(pid_t child) noexcept {
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : kForwarded) sigaddset(&set, sig);
  sigaddset(&set, SIGCHLD);

  while (true) {
    // Reap first: SIGCHLD may have been merged with an earlier one, so never trust one-per-child.
    while (true) {
      int status = 0;
      const pid_t done = ::waitpid(-1, &status, WNOHANG);
      if (done <= 0) break;
      if (done == child) return code_of_status(status);
    }
    siginfo_t info{};
    const int sig = ::sigwaitinfo(&set, &info);
    if (sig < 0 || sig == SIGCHLD) continue;
    if (already_delivered_by_terminal(info)) continue;
    ::kill(child, sig);
  }
}

}  // namespace portsafe::run
