// portsafe-run's side of the seccomp tier: whether this job gets the filter (--intercept, the
// privileges, what COMMAND is, the kernel), the channel the child sends the listener over, and
// the handler thread that serves it for the job's life.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/binary_kind.hpp"
#include "intercept/handler_thread.hpp"
#include "portsafe/unique_fd.hpp"
#include "portsafe/virtual_ports.hpp"
#include "run/launch.hpp"
#include "run/run_options.hpp"

namespace portsafe::run {

struct InterceptionPlan {
  bool seccomp = false;        // the child installs the filter
  bool forced = false;         // --intercept seccomp
  std::string env_value;       // PORTSAFE_INTERCEPT for COMMAND
  UniqueFd channel;            // our end of the listener channel
  std::string error;           // forced but impossible: the one line to print (exit 125)
  // For prepare_launch only.
  UniqueFd child_end_;
  bool no_new_privs_ = false;
  std::unique_ptr<PortTable> table_;
};

struct HandlerJob {
  std::string root;
  PortRange table_range;
  std::optional<PortRange> range;
  std::optional<uint32_t> linger_seconds;
  uint64_t job_id = 0;
  std::string job_name;
  VirtualPorts kernel_virtual{};  // kernel_virtual_ports(), once the tier is known: binds left to the kernel
};

// Decides, and warns once when auto wanted the tier and the kernel (or the table) cannot give it.
// nested: the job joined an outer portsafe-run's.
InterceptionPlan plan_interception(const RunOptions& options, tools::BinaryKind command, bool nested,
                                   const HandlerJob& job);

// Hands the child its end of the channel and its instructions.
void prepare_launch(InterceptionPlan& plan, LaunchPlan& launch);

// Once COMMAND runs: takes the listener from the channel and starts serving it. Null handler when
// there is nothing to serve; error set when --intercept seccomp could not be honoured (exit 125).
struct JobInterception {
  std::unique_ptr<intercept::HandlerThread> handler;
  std::string error;
};
JobInterception start_interception(InterceptionPlan& plan, const HandlerJob& job);

}  // namespace portsafe::run
