// The ports a job's BPF programs rewrite (portsafe-run --virtual in bpf mode) as the claim rules
// see them. A bind to such a port is not what it says: the kernel turns it into a bind to the
// job's own held real port. So the shim and the seccomp tier must leave it to the kernel, never
// claim the virtual number in the table (two jobs on one virtual 8080 would refuse each other,
// and other jobs could not bind 8080 itself).
// portsafe-run sets PORTSAFE_VIRTUAL_KERNEL="8080/tcp,53/udp" in bpf mode (and in its own
// environment, for its seccomp handler thread).
#pragma once

#include <cstdint>

#include "portsafe/port_table.hpp"

namespace portsafe {

// Whether text ("8080/tcp,53/udp"; a port without protocol is tcp) lists (proto, port).
// Allocation-free; a malformed entry matches nothing.
bool kernel_virtual_list_contains(const char* text, Protocol proto, uint16_t port) noexcept;

// The same for this process's PORTSAFE_VIRTUAL_KERNEL. Read at each call, not cached: it is asked
// only for binds to a given port inside the table's range, which are rare next to port-0 binds,
// and getenv neither allocates nor locks nor touches errno.
bool is_kernel_virtual_port(Protocol proto, uint16_t port) noexcept;

}  // namespace portsafe
