#include "run/virtualization.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "portsafe/environment.hpp"
#include "portsafe/log.hpp"
#include "run/virtual_options.hpp"

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
    // For COMMAND's shim (the environment is copied from ours) and our own seccomp handler: the
    // claim rules leave binds to these ports to the kernel.
    const std::string kernel = format_kernel_virtual_environment(std::getenv(env::kVirtualKernel), held);
    ::setenv(env::kVirtualKernel, kernel.c_str(), 1);
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
