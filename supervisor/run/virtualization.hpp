// portsafe-run's side of --virtual: which tier rewrites the job's virtual ports (--virtual-mode,
// the privileges, the kernel, the build) and, in bpf mode, the loaded programs and the job's
// cgroup, kept for the job's life.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "run/job_session.hpp"
#include "run/run_options.hpp"
#include "virtual/bpf_rewriter.hpp"

namespace portsafe::run {

struct Virtualization {
  bool any = false;   // the job has virtual ports
  bool bpf = false;   // rewritten by BPF programs on the job's cgroup; else by the shim
  std::unique_ptr<virt::BpfRewriter> rewriter;  // bpf: destroyed at job end (programs, then cgroup)
  std::string error;  // --virtual-mode bpf impossible: the one line to print (exit 125)
};

// Decides and, for bpf, loads and attaches. Auto falls back to the shim with one line at -v.
Virtualization start_virtualization(const RunOptions& options, const std::vector<HeldPort>& held);

}  // namespace portsafe::run
