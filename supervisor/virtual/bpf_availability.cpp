#include "virtual/bpf_rewriter.hpp"

#include <cstdint>
#include <fstream>
#include <string>

namespace portsafe::virt {
namespace {

constexpr int kCapNetAdmin = 12;
constexpr int kCapSysAdmin = 21;
constexpr int kCapBpf = 39;

// CapEff from /proc/self/status: loading cgroup sock_addr programs needs CAP_BPF and
// CAP_NET_ADMIN (or CAP_SYS_ADMIN, which covers both on kernels before 5.8).
bool has_capabilities() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    const uint64_t caps = std::stoull(line.substr(7), nullptr, 16);
    const auto has = [caps](int cap) { return ((caps >> cap) & 1U) != 0; };
    return has(kCapSysAdmin) || (has(kCapBpf) && has(kCapNetAdmin));
  }
  return false;
}

}  // namespace

#ifdef PORTSAFE_HAVE_BPF
bool bpf_tier_built() { return true; }
#else
bool bpf_tier_built() { return false; }
#endif

std::string bpf_unavailable_reason() {
  if (!bpf_tier_built()) {
    return "this portsafe was built without the BPF tier (clang, bpftool and libbpf-dev were not found at build "
           "time; install them and rebuild with -DPORTSAFE_WITH_BPF=ON)";
  }
  if (find_cgroup2_mount().empty()) {
    return "no cgroup2 file system is mounted (mount one: mount -t cgroup2 none /sys/fs/cgroup/unified)";
  }
  if (!has_capabilities()) {
    return "loading BPF programs needs root (CAP_BPF and CAP_NET_ADMIN); run as root or use --virtual-mode shim";
  }
  return "";
}

}  // namespace portsafe::virt
