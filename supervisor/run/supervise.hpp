// portsafe-run as an init-like wrapper (tini, catatonit): it stays COMMAND's parent, forwards the
// signals a job runner sends, reaps every child (it is a subreaper, so orphaned grandchildren come
// to it instead of leaving the job), and exits with COMMAND's status.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>

namespace portsafe::run {

// The signals forwarded to COMMAND: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2.
const int* forwarded_signals(size_t* count) noexcept;

// Blocks the forwarded signals and SIGCHLD (they are taken synchronously with sigwaitinfo, so
// none is lost between fork and the wait loop); returns the previous mask in previous.
bool block_job_signals(sigset_t* previous) noexcept;

// Makes this process the reaper of its orphaned descendants.
bool become_subreaper() noexcept;

// Waits for child to end, forwarding signals and reaping every other child. Returns the exit code
// portsafe-run should end with: child's status, or 128+N when it died of signal N.
int supervise_child(pid_t child) noexcept;

// portsafe-run's connection to the supervisor, watched while COMMAND runs. The supervisor never
// speaks unasked, so the socket turning readable means it closed: the supervisor died.
// on_lost reconnects and returns the new connection's descriptor (-1: watch nothing more).
struct ConnectionWatch {
  int fd = -1;
  std::function<int()> on_lost;
};

// As above, and also calls watch.on_lost when the watched connection closes.
int supervise_child(pid_t child, ConnectionWatch& watch);

// Reaps child (already known to have ended) and returns its status code as above.
int wait_exit_code(pid_t child) noexcept;

}  // namespace portsafe::run
