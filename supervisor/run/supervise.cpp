#include "run/supervise.hpp"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "portsafe/unique_fd.hpp"

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
bool already_delivered_by_terminal(int signo, int code) noexcept {
  return code == SI_KERNEL && (signo == SIGINT || signo == SIGQUIT || signo == SIGHUP);
}

sigset_t job_signal_set() noexcept {
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : kForwarded) sigaddset(&set, sig);
  sigaddset(&set, SIGCHLD);
  return set;
}

// Reaps every ended child; true (and *code) once `child` is among them. SIGCHLD may have been
// merged with an earlier one, so never trust one-per-child.
bool reap_children(pid_t child, int* code) noexcept {
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done <= 0) return false;
    if (done == child) {
      *code = code_of_status(status);
      return true;
    }
  }
}

// The supervisor sends nothing unasked: EOF or an error means it is gone; stray bytes are dropped.
bool connection_closed(int fd) noexcept {
  char buffer[256];
  const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
  if (n > 0) return false;
  return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
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
  const sigset_t set = job_signal_set();
  int code = 0;
  while (true) {
    if (reap_children(child, &code)) return code;
    siginfo_t info{};
    const int sig = ::sigwaitinfo(&set, &info);
    if (sig < 0 || sig == SIGCHLD) continue;
    if (already_delivered_by_terminal(info.si_signo, info.si_code)) continue;
    ::kill(child, sig);
  }
}

int supervise_child(pid_t child, ConnectionWatch& watch) {
  const sigset_t set = job_signal_set();
  // The signals stay blocked (they were before COMMAND started), so none is lost: a signalfd
  // lets one poll wait for them and for the supervisor's connection together.
  UniqueFd signals(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signals) return supervise_child(child);
  int code = 0;
  while (true) {
    if (reap_children(child, &code)) return code;
    pollfd fds[2] = {{signals.get(), POLLIN, 0}, {watch.fd, POLLIN, 0}};
    const nfds_t count = watch.fd >= 0 ? 2 : 1;
    if (::poll(fds, count, -1) < 0) continue;  // EINTR
    if (count == 2 && fds[1].revents != 0 && connection_closed(watch.fd)) watch.fd = watch.on_lost ? watch.on_lost() : -1;
    signalfd_siginfo info{};
    while (::read(signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      const int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGCHLD || already_delivered_by_terminal(sig, info.ssi_code)) continue;
      ::kill(child, sig);
    }
  }
}

}  // namespace portsafe::run
