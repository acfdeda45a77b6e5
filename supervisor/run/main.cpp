// portsafe-run [OPTIONS] -- COMMAND [ARGS...]: runs COMMAND as a portsafe job (docs/portsafe-run.md).
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/binary_kind.hpp"
#include "common/program_lookup.hpp"
#include "portsafe/environment.hpp"
#include "portsafe/install_layout.hpp"
#include "portsafe/log.hpp"
#include "portsafe/runtime_root.hpp"
#include "run/child_environment.hpp"
#include "run/environment_defaults.hpp"
#include "run/command_line.hpp"
#include "run/interception.hpp"
#include "run/job_name.hpp"
#include "run/job_recovery.hpp"
#include "run/job_session.hpp"
#include "run/launch.hpp"
#include "run/placeholders.hpp"
#include "run/supervise.hpp"
#include "run/virtual_options.hpp"
#include "run/virtualization.hpp"

extern char** environ;

namespace portsafe::run {
namespace {

void configure_logging(const RunOptions& options) {
  set_log_identity("portsafe-run");
  LogLevel level = parse_log_level(std::getenv(env::kLog), LogLevel::warn);
  if (options.quiet) level = LogLevel::off;
  if (options.verbose) level = std::max(level, LogLevel::info);
  set_log_level(level);
}

// Says once, before COMMAND runs, when the shim cannot reach it, and what still protects it.
void warn_if_unreachable(const tools::BinaryInfo& info, const RunOptions& options) {
  if (tools::shim_can_reach(info.kind) || info.kind == tools::BinaryKind::unknown) {
    log_debug("{} is {}", info.path, info.detail);
    return;
  }
  const std::string protection =
      options.ports.empty()
          ? "reserve its ports with --port NAME (held by the supervisor) or --listen NAME (socket handed over)"
          : "its --port/--listen ports are still held for it";
  log_warn("warning: {} is {}; its port-0 binds are not coordinated; {}", info.path, info.detail, protection);
}

std::string real_path_or(const std::string& path) {
  char resolved[PATH_MAX];
  return ::realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : path;
}

void print_reservations(const JobSession& session) {
  std::string lines;
  for (const HeldPort& held : session.ports) {
    const std::string name = held.spec.virtual_port != 0 ? virtual_key(held.spec) : held.spec.name;
    lines += fmt::format("{}={}{}\n", name, held.port, held.spec.proto == Protocol::udp ? "/udp" : "");
  }
  if (!lines.empty()) (void)!::write(STDERR_FILENO, lines.data(), lines.size());
}

// The supervisor died under the running job: hold its ports again through a fresh one, say so in
// one line (one more per port that someone took meanwhile), and let COMMAND carry on either way.
// Returns the new connection's descriptor, or -1 when there is none to watch.
int hold_ports_again(const std::string& root, const std::string& job_name, const JobOrigin& origin,
                     JobSession& session) {
  session.client.reset();
  Rehold again = rehold_ports(root, job_name, origin, session.ports);
  if (!again.client) {
    log_warn("the supervisor died and no new one answers ({}); COMMAND runs on without held ports", again.error);
    return -1;
  }
  session.client = std::move(again.client);
  if (session.ports.empty()) {
    log_info("the supervisor died; the job is open again with a new one");
  } else if (again.lost.empty()) {
    log_warn("the supervisor died; a new one holds this job's ports again ({})", describe_ports(session.ports));
  } else {
    for (const std::string& line : again.lost) {
      log_warn("the supervisor died and port {} was taken meanwhile; COMMAND runs on without that hold", line);
    }
  }
  return session.client->fd();
}

int run(RunOptions options) {
  configure_logging(options);
  if (auto problem = apply_environment_defaults(options, [](const char* name) { return std::getenv(name); })) {
    log_error("{}", *problem);
    return kExitOwnFailure;
  }
  for (const std::string& name : placeholder_names(options.command)) {
    bool known = false;
    for (const PortSpec& spec : options.ports) {
      const std::string key = spec.virtual_port != 0 ? virtual_key(spec) : port_env_key(spec.name);
      known = known || key == port_env_key(name);
    }
    if (!known) {
      log_error("{{{{{}}}}} in the command names no port; add --port {} (or --listen {}, or --virtual {} for a port "
                "number)",
                name, name, name, name);
      return kExitOwnFailure;
    }
  }

  // As env(1): not found is 127, found but not runnable is 126, both before anything starts.
  const tools::ProgramLookup program = tools::lookup_program(options.command.front(), std::getenv("PATH"));
  if (program.status == tools::LookupStatus::not_found) {
    log_error("{}: command not found", options.command.front());
    return 127;
  }
  if (program.status == tools::LookupStatus::not_executable) {
    log_error("{}: permission denied (not an executable file)", program.path);
    return 126;
  }
  const tools::BinaryInfo binary = tools::classify_file(program.path);

  const RuntimeRoot root = resolve_runtime_root();
  if (!root.ok) {
    log_error("{}", root.error);
    return kExitOwnFailure;
  }
  const std::string shim = real_path_or(shim_library_path());
  if (::access(shim.c_str(), R_OK) != 0) {
    log_error("the shim {} is missing ({}); reinstall portsafe (cmake --install)", shim, std::strerror(errno));
    return kExitOwnFailure;
  }

  const JobOrigin origin = find_job_origin();
  if (!origin.note.empty()) log_warn("{}", origin.note);
  std::string job_name = options.job;
  if (job_name.empty()) {
    job_name = origin.nested && !origin.outer_name.empty() ? origin.outer_name
                                                           : default_job_name_from_environment(::getpid());
  }

  SessionResult opened = open_session(root.path, job_name, origin, options.ports);
  if (!opened.session) {
    log_error("{}", opened.error);
    return kExitOwnFailure;
  }
  JobSession& session = *opened.session;
  if (options.range && !session.opened.range.contains(*options.range)) {
    log_error("{} is not inside the table's range {}; choose a range within it (a table keeps the range it was "
              "created with; `portsafe gc --reset` recreates it once no job runs)",
              options.range_origin, format_range(session.opened.range));
    return kExitOwnFailure;
  }
  log_info("job '{}' ({}{}), runtime root {}", job_name, format_identity(origin.leader),
           origin.nested ? ", joined the outer job" : "", root.path);
  for (const HeldPort& held : session.ports) {
    if (held.spec.virtual_port != 0) {
      log_info("holding {}/{} for virtual port {}", held.port, protocol_name(held.spec.proto), held.spec.virtual_port);
      continue;
    }
    log_info("holding {}/{} as {}{}", held.port, protocol_name(held.spec.proto), held.spec.name,
             held.spec.listen ? " (socket passed to COMMAND)" : "");
  }
  if (options.print) print_reservations(session);

  HandlerJob handler_job{root.path, session.opened.range, options.range, options.linger_seconds,
                        pack_identity(origin.leader), job_name};
  InterceptionPlan interception = plan_interception(options, binary.kind, origin.nested, handler_job);
  if (!interception.error.empty()) {
    log_error("{}", interception.error);
    return kExitOwnFailure;
  }
  if (!interception.seccomp) warn_if_unreachable(binary, options);
  Virtualization virtualization = start_virtualization(options, session.ports);
  if (!virtualization.error.empty()) {
    log_error("{}", virtualization.error);
    return kExitOwnFailure;
  }
  if (virtualization.any && !virtualization.bpf && !tools::shim_can_reach(binary.kind) &&
      binary.kind != tools::BinaryKind::unknown) {
    log_warn("warning: {} is {}; the shim cannot rewrite its virtual ports (run as root for --virtual-mode bpf)",
             binary.path, binary.detail);
  }

  PortsByKey ports_by_key;
  ChildSettings settings;
  for (const HeldPort& held : session.ports) {
    if (held.spec.virtual_port != 0) {
      ports_by_key[virtual_key(held.spec)] = held.port;
      settings.real_ports.push_back({virtual_key(held.spec), held.port});
      continue;
    }
    ports_by_key[port_env_key(held.spec.name)] = held.port;
    settings.ports.push_back({held.spec.name, held.port});
    if (held.spec.listen) settings.listen_names.push_back(held.spec.name);
  }
  Expansion expanded = expand_placeholders(options.command, ports_by_key);
  if (!expanded.ok()) {
    log_error("{}", expanded.error);
    return kExitOwnFailure;
  }
  settings.shim_path = shim;
  settings.job_name = job_name;
  settings.job_id = format_identity(origin.leader);
  settings.runtime_dir = root.path;
  settings.range = options.range;
  settings.linger_seconds = options.linger_seconds;
  settings.intercept = interception.env_value;
  settings.virtual_set = virtualization.any;
  if (virtualization.any && !virtualization.bpf) settings.virtual_map = format_virtual_environment(session.ports, std::getenv(env::kVirtual));
  // One table for both tiers, handed over rather than put into our own environment (a setenv
  // here would race the handler thread's reads): COMMAND's shim parses its wire form, the
  // seccomp handler gets the table.
  handler_job.kernel_virtual =
      kernel_virtual_ports(virtualization.bpf, session.ports, std::getenv(env::kVirtualKernel));
  if (virtualization.bpf) settings.virtual_kernel_map = format_virtual_ports(handler_job.kernel_virtual);

  std::vector<std::string> base;
  for (char** entry = environ; *entry != nullptr; ++entry) base.emplace_back(*entry);
  LaunchPlan plan;
  plan.path = program.path;
  plan.argv = std::move(expanded.args);
  plan.environment = build_child_environment(base, settings);
  plan.pass_fds = std::move(session.sockets);
  prepare_launch(interception, plan);
  if (virtualization.rewriter) plan.cgroup_procs = virtualization.rewriter->cgroup().procs_fd();

  sigset_t original_mask;
  if (!become_subreaper()) log_debug("cannot become a child subreaper: {}", std::strerror(errno));
  if (!block_job_signals(&original_mask)) {
    log_error("cannot block signals: {}", std::strerror(errno));
    return kExitOwnFailure;
  }
  const Launch launched = launch_command(plan, original_mask);
  plan.pass_fds.clear();  // COMMAND has its copies; ours would keep nothing alive that matters
  if (launched.pid < 0) {
    log_error("cannot start {}: {}", program.path, std::strerror(launched.exec_errno));
    return kExitOwnFailure;
  }
  if (launched.exec_errno != 0) {
    log_error("{}: {}", program.path, std::strerror(launched.exec_errno));
    wait_exit_code(launched.pid);
    return exit_code_for_exec_errno(launched.exec_errno);
  }
  JobInterception served = start_interception(interception, handler_job);
  if (!served.error.empty()) {
    log_error("{}", served.error);
    wait_exit_code(launched.pid);  // it exited 125 rather than run without the filter asked for
    return kExitOwnFailure;
  }
  ConnectionWatch watch;
  watch.fd = session.client->fd();
  watch.on_lost = [&]() { return hold_ports_again(root.path, job_name, origin, session); };
  const int code = supervise_child(launched.pid, watch);
  // COMMAND has ended: the claims the handler made for the job are released (or linger for it).
  served.handler.reset();
  virtualization.rewriter.reset();  // the programs, then the job's cgroup
  return code;
}

}  // namespace
}  // namespace portsafe::run

int main(int argc, char** argv) {
  portsafe::set_log_identity("portsafe-run");
  auto parsed = portsafe::run::parse_command_line(argc, argv);
  if (parsed.exit_code) return *parsed.exit_code;
  return portsafe::run::run(std::move(*parsed.options));
}
