// Start-up: everything that allocates, reads files or may throw happens here, once, in the
// library constructor. Any failure leaves one warning on stderr and a shim that only passes
// calls through; the host program never notices anything else.
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "inherited_claims.hpp"
#include "portsafe/environment.hpp"
#include "portsafe/runtime_root.hpp"
#include "portsafe/table_access.hpp"
#include "real_libc.hpp"
#include "shim_config.hpp"
#include "shim_log.hpp"
#include "shim_state.hpp"
#include "virtual_rewrite.hpp"

namespace portsafe::shim {

std::atomic<bool> g_active{false};
ShimState g_state;

namespace {

// The supervisor binds its placeholders with the bare kernel: our coordination would only get
// in its way (it is the one that holds ports for jobs).
bool is_supervisor_process() noexcept {
  return std::strcmp(program_invocation_short_name, "portsafed") == 0;
}

// fork(): the child is a new process with a copy of our state; the claims it inherited stay
// its parent's (the table refuses the child's releases), its own binds are its own. (Picks need
// no per-process start: they go round robin from the table's shared cursor.)
void refresh_after_fork() noexcept {
  g_state.claimant.process = read_own_identity();
  g_state.fallbacks_in_a_row.store(0, std::memory_order_relaxed);
}

void warn(const std::string& text) noexcept { log_line(LogLevel::warn, "{}", text); }

// Without a (live) leader this process leads a job of its own; its children join that job by
// inheriting PORTSAFE_JOB_ID, so a port it picks and hands to a child stays theirs.
ProcessIdentity adopt_leader(const ShimConfig& config, const ProcessIdentity& me) {
  if (config.leader) return *config.leader;
  const std::string text = fmt::format("{}.{}", me.pid, me.start_ticks);
  ::setenv(env::kJobId, text.c_str(), 1);
  return me;
}

// Opens the table and fills g_state. False (after one warning) when the shim must stay passive.
bool configure() {
  const ShimConfig config = read_config();
  g_log_level.store(static_cast<int>(config.log_level), std::memory_order_relaxed);
  // The job is settled first, even if the shim then stays passive: children must inherit it, so
  // what the environment's warnings say is said once per job, by the process that leads it
  // (portsafe-run checks its own environment and refuses bad values before COMMAND starts).
  const ProcessIdentity me = read_own_identity();
  const ProcessIdentity leader = adopt_leader(config, me);
  const bool leads_job = !config.leader;
  if (leads_job) {
    for (const std::string& line : config.warnings) warn(line);
  }

  const RuntimeRoot root = resolve_runtime_root();
  if (!root.ok) {
    warn(fmt::format("inactive, binds pass through unchanged: {}", root.error));
    return false;
  }
  RangeParse range;
  if (config.range) {
    range.ok = true;
    range.range = *config.range;
  } else {
    range = default_port_range(read_ephemeral_range());
  }
  TableOpen opened = range.ok ? open_root_table(root.path, range.range) : TableOpen{nullptr, TableError::system, range.error};
  if (!opened.table) {
    warn(fmt::format("inactive, binds pass through unchanged: {}", opened.message));
    return false;
  }
  // Leaked on purpose: the mapping must outlive every static destructor that might still bind
  // or close. The descriptor is already closed (Boost keeps only the mapping), so programs that
  // close every descriptor at start cannot break us.
  g_state.table = opened.table.release();

  const PortRange table_range = g_state.table->range();
  g_state.job_range = table_range;
  if (config.range && !table_range.contains(*config.range)) {
    if (leads_job && first_time(Once::range_outside_table)) {
      warn(fmt::format("{}={} is not inside the table's range {}; picking from {}", env::kRange,
                       format_range(*config.range), format_range(table_range), format_range(table_range)));
    }
  } else if (config.range) {
    g_state.job_range = *config.range;
  }

  std::strncpy(g_state.job_name, config.job_name.c_str(), kNameBytes - 1);
  g_state.claimant.process = me;
  g_state.claimant.job_id = pack_identity(leader);
  g_state.claimant.job_name = g_state.job_name;
  g_state.claimant.label = nullptr;
  g_state.claimant.linger_ms = config.linger_ms.value_or(g_state.table->default_linger_ms());

  // Host-wide coordination: only for the table's whole range (a job's own PORTSAFE_RANGE opts
  // out), only with a registry root keeps (else per account, as before).
  if (g_state.job_range == table_range) {
    HostLeasesOpen host = HostLeases::attach(*g_state.table, host_dir());
    if (host.leases) {
      g_state.host = host.leases.release();
    } else if (host.error != RegistryError::missing) {
      log_line(LogLevel::debug, "{}", host.reason);
    }
  }

  g_state.kernel_virtual = read_kernel_virtual_ports();

  const int adopted = adopt_inherited_claims();
  ::pthread_atfork(nullptr, nullptr, refresh_after_fork);
  log_line(LogLevel::info, "active: table {} range {}{}, job '{}' led by pid {}{}", g_state.table->name(),
           format_range(g_state.job_range), g_state.host != nullptr ? " (host-wide blocks)" : "", g_state.job_name,
           leader.pid,
           adopted > 0 ? fmt::format(", {} inherited claim(s)", adopted) : std::string());
  return true;
}

}  // namespace

void start_shim() noexcept {
  const int saved_errno = errno;
  real();  // resolve every real function before anything can call a wrapper
  if (!is_supervisor_process()) {
    try {
      if (configure()) g_active.store(true, std::memory_order_release);
    } catch (const std::exception& e) {
      log_line(LogLevel::warn, "inactive, binds pass through unchanged: {}", e.what());
    } catch (...) {
      log_line(LogLevel::warn, "inactive, binds pass through unchanged: unexpected start-up failure");
    }
    // After configure() (it sets the log level), and whatever it decided: a job whose table is
    // unreachable still reaches its own servers through their virtual ports.
    start_virtual_ports();
  }
  errno = saved_errno;
}

}  // namespace portsafe::shim

__attribute__((constructor)) static void portsafe_shim_constructor() { portsafe::shim::start_shim(); }
