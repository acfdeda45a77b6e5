#include "run/interception.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "intercept/listener_transfer.hpp"
#include "portsafe/environment.hpp"
#include "portsafe/host_leases.hpp"
#include "portsafe/log.hpp"
#include "portsafe/table_access.hpp"

namespace portsafe::run {
namespace {

constexpr const char* kShimAlone =
    "the preload shim alone coordinates binds; static and Go programs in the job are not covered";

// The range the shim in COMMAND would pick from: --range, else an inherited PORTSAFE_RANGE inside
// the table, else the table's.
PortRange job_range_of(const HandlerJob& job) {
  if (job.range) return *job.range;
  if (const char* text = std::getenv(env::kRange)) {
    const RangeParse parsed = parse_port_range(text);
    if (parsed.ok && job.table_range.contains(parsed.range)) return parsed.range;
  }
  return job.table_range;
}

}  // namespace

InterceptionPlan plan_interception(const RunOptions& options, tools::BinaryKind command, bool nested,
                                   const HandlerJob& job) {
  InterceptionPlan plan;
  plan.forced = options.intercept == intercept::InterceptMode::seccomp;
  const bool privileged = intercept::has_sys_admin();
  const char* inherited = std::getenv(env::kIntercept);
  // An outer job's filter is inherited by everything in it, and the kernel allows one listener
  // per filter chain: the outer handler serves this job's binds already.
  if (nested && inherited != nullptr && std::strcmp(inherited, "seccomp") == 0) {
    log_info("interception: the outer job's seccomp filter already covers COMMAND");
    plan.env_value = "seccomp";
    return plan;
  }
  if (!intercept::wants_seccomp(options.intercept, command, privileged)) {
    log_info("interception: preload shim");
    plan.env_value = "preload";
    return plan;
  }
  const intercept::KernelSupport support = intercept::probe_kernel_support();
  if (!support.ok) {
    if (plan.forced) {
      plan.error = fmt::format("cannot install the seccomp bind filter ({}); use --intercept preload", support.missing);
    } else {
      log_warn("warning: seccomp interception unavailable ({}); {}", support.missing, kShimAlone);
      plan.env_value = "preload";
    }
    return plan;
  }
  TableOpen opened = open_root_table(job.root, job.table_range);
  if (!opened.table) {
    const std::string why = fmt::format("the table cannot be opened: {}", opened.message);
    if (plan.forced) {
      plan.error = fmt::format("cannot serve seccomp notifications ({}); use --intercept preload", why);
    } else {
      log_warn("warning: seccomp interception unavailable ({}); {}", why, kShimAlone);
      plan.env_value = "preload";
    }
    return plan;
  }
  plan.table_ = std::move(opened.table);
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) {
    plan.error = fmt::format("cannot create the seccomp listener channel: {}", std::strerror(errno));
    if (!plan.forced) {
      log_warn("warning: seccomp interception unavailable ({}); {}", plan.error, kShimAlone);
      plan.error.clear();
      plan.env_value = "preload";
    }
    return plan;
  }
  plan.channel = UniqueFd(ends[0]);
  plan.seccomp = true;
  plan.env_value = "seccomp";
  // Handed over in prepare_launch.
  plan.child_end_ = UniqueFd(ends[1]);
  plan.no_new_privs_ = !privileged;
  log_info("interception: seccomp (binds served by portsafe-run{}) + preload shim",
           privileged ? "" : "; no_new_privs: set-uid programs gain no privileges in the job");
  return plan;
}

void prepare_launch(InterceptionPlan& plan, LaunchPlan& launch) {
  if (!plan.seccomp) return;
  launch.filter_channel = std::move(plan.child_end_);
  launch.set_no_new_privs = plan.no_new_privs_;
  launch.require_filter = plan.forced;
}

JobInterception start_interception(InterceptionPlan& plan, const HandlerJob& job) {
  JobInterception out;
  if (!plan.seccomp) return out;
  intercept::ReceivedListener received = intercept::receive_listener(plan.channel.get());
  plan.channel.reset();
  if (!received.received) return out;  // the child ended before: its exit says why
  if (!received.listener) {
    // EBUSY: another seccomp listener (a sandbox, a container runtime) already serves this
    // process tree; its answers are not portsafe's rules.
    const std::string why = received.error == EBUSY
                                ? "another seccomp listener already serves this process tree (EBUSY)"
                                : std::strerror(received.error);
    if (plan.forced) {
      out.error = fmt::format("cannot install the seccomp bind filter ({}); use --intercept preload", why);
    } else {
      log_warn("warning: seccomp interception unavailable ({}); {}", why, kShimAlone);
    }
    return out;
  }
  if (!received.killable) {
    log_info("this kernel lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19+): a signal may interrupt a waiting bind");
  }
  intercept::HandlerSettings settings;
  settings.job_range = job_range_of(job);
  settings.owner = read_own_identity();
  settings.job_id = job.job_id;
  settings.job_name = job.job_name;
  settings.kernel_virtual = job.kernel_virtual;
  settings.linger_ms = job.linger_seconds ? *job.linger_seconds * 1000 : plan.table_->default_linger_ms();
  // The same host-wide blocks the shim picks in (a job's own range opts out, as in the shim).
  if (settings.job_range == plan.table_->range()) {
    if (HostLeasesOpen host = HostLeases::attach(*plan.table_, host_dir()); host.leases) {
      settings.host = std::move(host.leases);
    }
  }
  out.handler = std::make_unique<intercept::HandlerThread>(std::move(plan.table_), std::move(received.listener),
                                                           std::move(settings));
  return out;
}

}  // namespace portsafe::run
