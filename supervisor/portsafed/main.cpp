// portsafed: the per-user supervisor of one runtime root. Holds placeholder sockets for jobs'
// named ports, hands bound sockets over with SCM_RIGHTS, and releases a job's ports the moment
// its connection closes. Started on demand by the portsafe tools, or by systemd.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <string>

#include "host_daemon.hpp"
#include "instance.hpp"
#include "portsafe/environment.hpp"
#include "portsafe/host_leases.hpp"
#include "portsafe/log.hpp"
#include "portsafe/runtime_root.hpp"
#include "portsafe/table_access.hpp"
#include "server.hpp"

namespace {

using namespace portsafe;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct Options {
  std::string runtime_dir;
  bool foreground = false;
  unsigned idle_timeout = 30;
  std::string log_level;
  bool host = false;
  std::string host_dir;
  uint32_t block_size = 128;
};

// Leaves the caller's session: the child serves, the parent exits once the child listens (or
// failed), so whoever ran `portsafed` can connect as soon as it returns. Returns the write end of
// the readiness pipe in the child (-1 when serving in the foreground after a failed fork).
int detach(const std::string& log_path) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return -1;
  const pid_t child = ::fork();
  if (child < 0) return -1;  // serve in the foreground rather than not at all
  if (child > 0) {
    ::close(ready[1]);
    char status = 1;
    const bool told = ::read(ready[0], &status, 1) == 1;
    ::_exit(told && status == 0 ? kExitOk : kExitFailure);
  }
  ::close(ready[0]);
  ::setsid();
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
  }
  if (::isatty(STDERR_FILENO)) {
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    ::dup2(log_fd >= 0 ? log_fd : null_fd, STDERR_FILENO);
  }
  return ready[1];
}

void tell_parent(int ready_fd, char status) {
  if (ready_fd < 0) return;
  [[maybe_unused]] const ssize_t n = ::write(ready_fd, &status, 1);
  ::close(ready_fd);
}

int serve(const Options& options) {
  const RuntimeRoot root = options.runtime_dir.empty() ? resolve_runtime_root() : prepare_private_directory(options.runtime_dir);
  if (!root.ok) {
    log_error("{}", root.error);
    return kExitFailure;
  }
  UniqueFd lock;
  std::string error;
  switch (supervisor::take_instance_lock(root.path, lock, error)) {
    case supervisor::LockOutcome::another_serves:
      log_info("another supervisor serves {}", root.path);
      return kExitOk;
    case supervisor::LockOutcome::failed:
      log_error("{}", error);
      return kExitFailure;
    case supervisor::LockOutcome::acquired:
      break;
  }
  TableOpen table = open_root_table(root.path);
  if (!table.table) {
    log_error("{}", table.message);
    return kExitFailure;
  }
  // The pid is in the lock file before the socket answers: whoever can talk to us can signal us.
  const int ready_fd =
      options.foreground || supervisor::systemd_passed_socket() ? -1 : detach(supervisor_log_path(root.path));
  supervisor::record_pid(lock.get());
  UniqueFd listener;
  bool from_systemd = false;
  const std::string socket_path = supervisor_socket_path(root.path);
  if (!supervisor::open_listener(socket_path, listener, from_systemd, error)) {
    log_error("{}", error);
    supervisor::clear_pid(lock.get());
    tell_parent(ready_fd, 1);
    return kExitFailure;
  }
  supervisor::ServerOptions server_options;
  server_options.idle_timeout = std::chrono::seconds(options.idle_timeout);
  if (!from_systemd) server_options.socket_path = socket_path;
  supervisor::Server server(std::move(listener), *table.table, server_options);
  // Host-wide blocks, when a host daemon keeps a registry for this range (else per account).
  HostLeasesOpen host = HostLeases::attach(*table.table, host_dir());
  if (host.leases) {
    server.use_host(host.leases.get());
  } else if (host.error != RegistryError::missing) {
    log_info("{}", host.reason);
  }
  // A killed supervisor's holds: those of running jobs are held again until their launchers
  // reserve them anew; the rest (their owner is gone) are freed. Clients wait in the backlog.
  const size_t adopted = server.adopt_orphaned_holds();
  const size_t reaped = table.table->reap(monotonic_ms());
  tell_parent(ready_fd, 0);
  log_info("serving {} (table {}, range {}, held {} port(s) again, reaped {} stale slot(s))", socket_path,
           table.table->name(), format_range(table.table->range()), adopted, reaped);
  const int code = server.run();
  supervisor::clear_pid(lock.get());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  set_log_identity("portsafed");
  Options options;
  CLI::App app{"portsafed: holds ports for portsafe jobs and hands bound sockets over.\n"
               "Started on demand by portsafe-run and the other tools; exits when idle.\n"
               "Exit codes: 0 ok (also when another supervisor already serves the root), 1 failure, 2 usage."};
  app.add_option("--runtime-dir", options.runtime_dir,
                 "runtime root (default: PORTSAFE_RUNTIME_DIR, else a private per-user directory)");
  app.add_flag("--foreground", options.foreground, "stay attached to the terminal, log to stderr");
  app.add_option("--idle-timeout", options.idle_timeout, "exit after SECONDS without jobs or held ports (0: never)")
      ->check(CLI::Range(0u, 86400u));
  app.add_flag("--host", options.host,
               "serve as the host daemon (root): lease blocks of the default range to accounts, answer "
               "whether another account has a port (HOSTDIR/host.sock, HOSTDIR/leases)");
  app.add_option("--host-dir", options.host_dir, "with --host: HOSTDIR (default: PORTSAFE_HOST_DIR, else /run/portsafe)");
  app.add_option("--block-size", options.block_size, "with --host: ports per leased block when the registry is made")
      ->check(CLI::Range(32u, 4096u));
  app.add_option("--log-level", options.log_level, "off|warn|info|debug (default: PORTSAFE_LOG, else warn)")
      ->check(CLI::IsMember({"off", "warn", "info", "debug"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  set_log_level(parse_log_level(options.log_level.empty() ? std::getenv(env::kLog) : options.log_level.c_str(),
                                options.foreground ? LogLevel::info : LogLevel::warn));
  if (options.host) {
    host::HostOptions host_options;
    host_options.dir = options.host_dir;
    host_options.block_size = options.block_size;
    host_options.idle_timeout = std::chrono::seconds(app.count("--idle-timeout") > 0 ? options.idle_timeout : 0u);
    return host::serve_host(host_options);
  }
  return serve(options);
}
