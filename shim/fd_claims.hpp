// Which of this process's descriptors carry a port claim the shim made, so that accept/connect
// and datagrams can mark the port used and the last close can release it.
//
// A static, zero-initialised array indexed by fd (descriptors beyond it are simply untracked):
// no allocation, no lock, only atomics, so threads and fork children (which inherit the array)
// need nothing more. Entries can go stale when a descriptor is closed behind our back (glibc's
// closefrom, a raw syscall), so a release always checks the slot word and the socket's port.
#pragma once

#include <atomic>
#include <cstdint>

#include "portsafe/port_table.hpp"

namespace portsafe::shim {

inline constexpr int kTrackedFds = 65536;

struct FdClaim {
  SlotRef ref;
  uint16_t port = 0;
  bool valid() const noexcept { return ref.valid(); }
};

// Records that fd carries `claim`; returns what it carried before (usually nothing).
FdClaim track_fd(int fd, const FdClaim& claim) noexcept;
// Forgets fd and returns what it carried.
FdClaim untrack_fd(int fd) noexcept;
FdClaim tracked_claim(int fd) noexcept;
// True when some descriptor of this process still carries the same claim.
bool claim_still_referenced(const FdClaim& claim) noexcept;
// The highest fd ever tracked plus one (bounds the scans).
int tracked_fd_limit() noexcept;

}  // namespace portsafe::shim
