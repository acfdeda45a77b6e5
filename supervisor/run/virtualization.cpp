#include "run/virtualization.hpp"

#include <fmt/format.h>

#include "portsafe/log.hpp"

namespace portsafe::run {
namespace {

std::vector<virt::PortMapping> mappings_of(const std::vector<HeldPort>& held) {
  std::vector<virt::PortMapping> out;
  for (const HeldPort& port : held) {
    if (port.spec.virtual_port != 0) out.push_back({port.spec.proto, port.spec.virtual_port, port.port});
  }
  return out;
}

}  // namespace

Virtualization start_virtualization(const RunOptions& options, const std::vector<HeldPort>& held) {
  Virtualization result;
  const std::vector<virt::PortMapping> ports = mappings_of(held);
  if (ports.empty()) return result;
  result.any = true;
  if (options.virtual_mode == VirtualMode::shim) {
    log_info("virtual ports rewritten by the shim (--virtual-mode shim): dynamic programs only");
    return result;
  }
  virt::BpfStart started = virt::start_bpf_rewriter(ports);
  if (started.rewriter) {
    result.bpf = true;
    result.rewriter = std::move(started.rewriter);
    log_info("virtual ports rewritten by BPF programs on the job's cgroup {}", result.rewriter->cgroup().path());
    return result;
  }
  if (options.virtual_mode == VirtualMode::bpf) {
    result.error = fmt::format("--virtual-mode bpf: {}", started.error);
    if (started.error.find("--virtual-mode shim") == std::string::npos) {
      result.error += "; or use --virtual-mode shim (dynamic programs only)";
    }
    return result;
  }
  log_info("virtual ports rewritten by the shim: static binaries (Go, ...) are not virtualized without root (bpf "
           "mode unavailable: {})",
           started.error);
  return result;
}

}  // namespace portsafe::run
