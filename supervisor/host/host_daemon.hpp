// `portsafed --host`: the host daemon of one network namespace (issue 16). Runs as root, leases
// disjoint blocks of the default range to accounts (uid from SO_PEERCRED), answers whether
// another account has a port, and takes idle blocks back. Files in HOSTDIR (PORTSAFE_HOST_DIR,
// else /run/portsafe): host.sock (0666) and leases (the registry, 0644, written only here).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace portsafe::host {

struct HostOptions {
  std::string dir;                      // --host-dir (default: PORTSAFE_HOST_DIR, else /run/portsafe)
  uint32_t block_size = 128;            // --block-size: ports per block (a new registry only)
  std::chrono::seconds idle_timeout{0};  // --idle-timeout: 0 = never (socket activation may use it)
  bool foreground = true;               // the host daemon never detaches (systemd runs it)
};

// Exit codes as portsafed's: 0 ok, 1 failure (one line says why).
int serve_host(const HostOptions& options);

}  // namespace portsafe::host
