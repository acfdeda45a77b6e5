// The BPF tier of virtual ports: one copy of virtual_ports.bpf.c per job, its maps filled with
// the job's ports, its programs attached to the job's cgroup by bpf_links that this process holds
// (they go when portsafe-run goes, even by SIGKILL).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "virtual/job_cgroup.hpp"
#include "virtual/virtual_port.hpp"

namespace portsafe::virt {

// Whether this build has the BPF tier (PORTSAFE_WITH_BPF: clang, bpftool and libbpf were found).
bool bpf_tier_built();

// Why this process cannot load the tier, or "" when it can (built, cgroup2 mounted, privileges:
// root or CAP_BPF + CAP_NET_ADMIN). Cheap: no program is loaded. The reason names the fix.
std::string bpf_unavailable_reason();

class BpfRewriter {
 public:
  virtual ~BpfRewriter() = default;
  virtual const JobCgroup& cgroup() const = 0;
};

struct BpfStart {
  std::unique_ptr<BpfRewriter> rewriter;  // null on failure
  std::string error;                      // one line: why, and the fix
};

// Creates the job's cgroup, loads the programs, fills the maps (and the netns's own interface
// addresses, so a connect to one of them is local too) and attaches them.
BpfStart start_bpf_rewriter(const std::vector<PortMapping>& ports);

}  // namespace portsafe::virt
