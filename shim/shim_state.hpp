// The shim's process-wide state, built once by the library constructor and then only read (the
// fork child handler refreshes the process identity and the pick offset). When start-up failed
// or the shim is disabled, shim_active() is false and every wrapper passes straight through.
#pragma once

#include <atomic>
#include <cstdint>

#include "portsafe/host_leases.hpp"
#include "portsafe/port_table.hpp"
#include "portsafe/virtual_ports.hpp"

namespace portsafe::shim {

struct ShimState {
  PortTable* table = nullptr;  // never freed: other threads and late destructors may still bind
  PortRange job_range;         // where port-0 picks come from (inside the table's range)
  Claimant claimant;           // claimant.process is this process (refreshed after fork)
  char job_name[kNameBytes] = {};
  std::atomic<uint32_t> fallbacks_in_a_row{0};  // picks of this process that fell back since its last pick
  // Host-wide coordination (a valid host registry for the table's range); null: per account.
  // Never freed, like the table.
  HostLeases* host = nullptr;
  // bpf mode: the job's kernel-rewritten virtual ports (PORTSAFE_VIRTUAL_KERNEL); null: none.
  const VirtualPorts* kernel_virtual = nullptr;
};

extern std::atomic<bool> g_active;
extern ShimState g_state;

inline bool shim_active() noexcept { return g_active.load(std::memory_order_acquire); }

// Builds the state (the library constructor calls it; exposed for the start-up code only).
void start_shim() noexcept;

}  // namespace portsafe::shim
