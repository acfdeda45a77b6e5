#include "doctor_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "common/binary_kind.hpp"
#include "host_view.hpp"
#include "intercept/intercept_mode.hpp"
#include "virtual/bpf_rewriter.hpp"
#include "portsafe/environment.hpp"
#include "portsafe/host_registry.hpp"
#include "portsafe/install_layout.hpp"
#include "portsafe/port_range.hpp"
#include "portsafe/runtime_root.hpp"

namespace portsafe::admin {
namespace {

class Report {
 public:
  void ok(const std::string& text) { line("ok  ", text); }
  void warn(const std::string& text) { line("warn", text); }
  void fail(const std::string& text) {
    line("FAIL", text);
    failed_ = true;
  }
  bool failed() const { return failed_; }

 private:
  void line(const char* tag, const std::string& text) { std::fputs(fmt::format("{}  {}\n", tag, text).c_str(), stdout); }
  bool failed_ = false;
};

// Peak use of the range (percent) from which doctor says the range came near full.
constexpr double kNearFullPercent = 90.0;

bool overlaps(const PortRange& a, const PortRange& b) { return a.low <= b.high && b.low <= a.high; }

void check_runtime_dir(const AdminContext& context, Report& report) {
  if (context.root.empty()) {
    report.fail(context.root_error);
    return;
  }
  report.ok(fmt::format("runtime directory {} is private (0700, owned by uid {})", context.root, ::geteuid()));
}

void check_range(Report& report) {
  const RangeParse range = resolve_port_range();
  if (!range.ok) {
    report.fail(range.error);
    return;
  }
  const PortRange ephemeral = read_ephemeral_range();
  if (overlaps(range.range, ephemeral)) {
    report.warn(fmt::format("range {} overlaps the kernel's ephemeral range {} (net.ipv4.ip_local_port_range): the "
                            "kernel may hand those ports to bind(0) and connect(); choose PORTSAFE_RANGE below {}",
                            format_range(range.range), format_range(ephemeral), ephemeral.low));
  } else {
    report.ok(fmt::format("range {} lies outside the kernel's ephemeral range {}", format_range(range.range),
                          format_range(ephemeral)));
  }
  uint32_t reserved_inside = 0;
  for (const PortRange& reserved : read_reserved_ports()) {
    for (uint32_t p = reserved.low; p <= reserved.high; ++p) {
      if (range.range.contains(static_cast<uint16_t>(p))) ++reserved_inside;
    }
  }
  if (reserved_inside > 0) {
    report.ok(fmt::format("{} port(s) of net.ipv4.ip_local_reserved_ports lie in the range; the table never hands "
                          "them out",
                          reserved_inside));
  }
}

// How near the range came to full since the table was made: the supervisor samples how many
// ports are in use (a high-water mark); lingers that gave way and fallbacks say it was reached.
void check_pressure(const PortTable& table, Report& report) {
  const TableCounters c = table.counters();
  const uint32_t size = table.range().size();
  const double peak = size == 0 ? 0.0 : 100.0 * static_cast<double>(c.peak_in_use) / size;
  if (c.full_range_events > 0) {
    report.warn(fmt::format("the range {} had a live socket or a hold on every port: {} pick(s) fell back to the "
                            "kernel's choice; job '{}' needed at least {} ports; widen PORTSAFE_RANGE (then `portsafe gc "
                            "--reset` with no job running) or run fewer jobs at once",
                            format_range(table.range()), c.full_range_events, c.ports_needed_job, c.ports_needed));
  } else if (c.young_lingers_given_way > 0 || peak >= kNearFullPercent) {
    report.warn(fmt::format("the range {} came near full: peak {} of {} ports in use ({:.0f}%), {} linger(s) younger "
                            "than {} ms gave way to new picks; a wider PORTSAFE_RANGE keeps handed-on numbers longer",
                            format_range(table.range()), c.peak_in_use, size, peak, c.young_lingers_given_way,
                            kMinLingerAgeMs));
  } else {
    report.ok(fmt::format("range use peaked at {} of {} ports ({:.0f}%); {} old linger(s) gave way, no pick fell back",
                          c.peak_in_use, size, peak, c.lingers_given_way));
  }
}

void check_table(const AdminContext& context, Report& report) {
  if (context.root.empty()) return;
  TableOpen opened = open_context_table(context);
  if (opened.error == TableError::missing) {
    report.ok(fmt::format("no port table yet ({}); the first portsafe program creates it",
                          PortTable::shm_path(context.table_name)));
    return;
  }
  if (!opened.table) {
    report.fail(opened.message);
    return;
  }
  const PortTable& table = *opened.table;
  const auto claims = table.list().size();
  report.ok(fmt::format("port table {} is healthy: range {}, {} claim(s)", PortTable::shm_path(table.name()),
                        format_range(table.range()), claims));
  check_pressure(table, report);
  if (const RangeParse wanted = resolve_port_range(); wanted.ok && !(wanted.range == table.range())) {
    report.warn(fmt::format("the table uses range {} but PORTSAFE_RANGE/the default says {}: a table keeps the range "
                            "it was made with; `portsafe gc --reset` (with no job running) applies the new one",
                            format_range(table.range()), format_range(wanted.range)));
  }
}

// Host-wide coordination (issue 16): one line whatever the case, so a user sees at once whether
// other accounts' jobs can be given this account's ports, and how to change that.
void check_host(const AdminContext& context, Report& report) {
  if (context.root.empty()) return;
  PortRange range;
  if (TableOpen opened = open_context_table(context); opened.table) {
    range = opened.table->range();
  } else if (const RangeParse wanted = resolve_port_range(); wanted.ok) {
    range = wanted.range;
  } else {
    return;  // check_range said what is wrong
  }
  const HostView host = inspect_host(range, context.table_name, root_owner(context));
  if (host.opted_out) {
    report.warn(fmt::format("{}; other accounts' jobs may be given this account's ports: unset PORTSAFE_RANGE to "
                            "take part in host-wide coordination", host.reason));
    return;
  }
  if (!host.active) {
    report.warn(
        fmt::format("{}; other accounts' jobs may be given this account's ports: {}", host.reason, kHostTurnOn));
    return;
  }
  const std::string socket = host_socket_path(host.dir);
  if (!host.daemon_answers) {
    report.warn(fmt::format("host-wide coordination: registry {} is valid but the host daemon does not answer at {}: "
                            "jobs keep the {} block(s) this table leases and get no new one; restart it as root "
                            "(systemctl restart portsafe-host.service, or `portsafed --host`)",
                            host.registry_path, socket, host.own_blocks));
    return;
  }
  report.ok(fmt::format("host-wide coordination active: registry {} (range {}, {} blocks of {} ports, {} free); this "
                        "table leases {} block(s), this account {}; other accounts: {} account(s), {} block(s)",
                        host.registry_path, format_range(host.range), host.block_count, host.block_size,
                        host.free_blocks, host.own_blocks, host.account_blocks, host.other_accounts,
                        host.other_blocks));
}

void check_supervisor(const AdminContext& context, Report& report) {
  if (context.root.empty()) return;
  const std::string socket = supervisor_socket_path(context.root);
  auto client = connect_running_supervisor(context);
  if (!client) {
    report.ok(fmt::format("no supervisor running for {} (started on demand by portsafe-run)", context.root));
    return;
  }
  const auto pong = client->ping();
  if (!pong.ok()) {
    report.fail(fmt::format("the supervisor at {} does not answer ping ({}); see {}", socket, pong.error.message,
                            supervisor_log_path(context.root)));
    return;
  }
  report.ok(fmt::format("supervisor pid {} answers at {} (protocol {}, portsafe {})", pong.value->pid, socket,
                        pong.value->protocol_version, pong.value->version));
}

void check_installation(Report& report) {
  const std::string shim = shim_library_path();
  if (::access(shim.c_str(), R_OK) == 0) {
    report.ok(fmt::format("shim {} is installed", shim));
  } else {
    report.warn(fmt::format("shim {} is missing: reinstall portsafe (cmake --install)", shim));
  }
  const std::string daemon = sibling_program(kSupervisorProgram);
  if (::access(daemon.c_str(), X_OK) != 0) {
    report.fail(fmt::format("supervisor program {} is missing: reinstall portsafe (cmake --install)", daemon));
  }
}

// Which interception portsafe-run gives a job here: the preload shim always; the seccomp tier
// (every binary) with CAP_SYS_ADMIN, or for static and Go commands, when the kernel has it.
void check_interception(Report& report) {
  const char* inside = std::getenv(env::kIntercept);
  if (inside != nullptr && *inside != '\0') {
    report.ok(fmt::format("interception: this shell runs inside a portsafe job with interception {}", inside));
  }
  const intercept::KernelSupport support = intercept::probe_kernel_support();
  if (!support.ok) {
    report.warn(fmt::format("interception: preload shim only; the seccomp tier is unavailable on this kernel ({}), so "
                            "static and Go programs' own binds are not coordinated",
                            support.missing));
    return;
  }
  if (intercept::has_sys_admin()) {
    report.ok("interception: preload shim + seccomp (CAP_SYS_ADMIN: portsafe-run --intercept auto installs the bind "
              "filter for every job, whatever binary it runs)");
  } else {
    report.ok("interception: preload shim; seccomp too when COMMAND is static or Go (--intercept auto; no_new_privs "
              "then stops set-uid programs such as sudo inside the job), or for every job with --intercept seccomp");
  }
}

// Which tier portsafe-run --virtual (auto) uses here: bpf reaches every binary, the shim only
// dynamic ones.
void check_virtual_ports(Report& report) {
  const std::string reason = virt::bpf_unavailable_reason();
  if (reason.empty()) {
    report.ok(fmt::format("virtual ports: bpf (cgroup2 at {}): portsafe-run --virtual rewrites every binary of the job",
                          virt::find_cgroup2_mount()));
    return;
  }
  report.warn(fmt::format("virtual ports: shim only, so static binaries (Go, ...) are not virtualized without root "
                          "({})",
                          reason));
}

void check_command(const std::vector<std::string>& command, Report& report) {
  const tools::BinaryInfo info = tools::classify_program(command.front(), std::getenv("PATH"));
  const std::string what = info.path.empty() ? command.front() : info.path;
  switch (info.kind) {
    case tools::BinaryKind::not_found:
      report.fail(fmt::format("{}: command not found (check PATH)", command.front()));
      return;
    case tools::BinaryKind::not_executable:
      report.fail(fmt::format("{} is not executable (chmod +x, or run it through its interpreter)", what));
      return;
    default:
      break;
  }
  const std::string detail = info.detail.empty() ? "" : fmt::format(" ({})", info.detail);
  if (tools::shim_can_reach(info.kind)) {
    report.ok(fmt::format("{} is a {} program{}: the shim reaches it, so its port-0 binds are coordinated", what,
                          tools::binary_kind_name(info.kind), detail));
    return;
  }
  const bool covered = intercept::probe_kernel_support().ok &&
                       intercept::wants_seccomp(intercept::InterceptMode::automatic, info.kind, intercept::has_sys_admin());
  if (covered) {
    report.ok(fmt::format("{} is a {} program{}: the shim cannot reach it, so portsafe-run --intercept auto serves "
                          "its binds through the seccomp tier",
                          what, tools::binary_kind_name(info.kind), detail));
    return;
  }
  report.warn(fmt::format(
      "{} is a {} program{}: the shim cannot reach it (LD_PRELOAD is not used), so its own port-0 binds are not "
      "coordinated. Still protected: ports held for it with `portsafe-run --port NAME` (pass {{{{NAME}}}} or "
      "$PORTSAFE_PORT_NAME to it) and sockets handed over with `portsafe-run --listen NAME`",
      what, tools::binary_kind_name(info.kind), detail));
}

}  // namespace

int run_doctor(const AdminContext& context, const std::vector<std::string>& command) {
  Report report;
  check_runtime_dir(context, report);
  check_range(report);
  check_table(context, report);
  check_host(context, report);
  check_supervisor(context, report);
  check_installation(report);
  check_interception(report);
  check_virtual_ports(report);
  if (!command.empty()) check_command(command, report);
  return report.failed() ? kExitFailure : kExitOk;
}

}  // namespace portsafe::admin
