#include "claim_lifecycle.hpp"

#include "shim_log.hpp"
#include "shim_state.hpp"

namespace portsafe::shim {

// No getsockname() check that fd still is the claim's socket: it would double the shim's cost on
// these paths, and it would change nothing. mark_used() and release() act only while the slot
// still holds the very claim (same word), and a stale entry (its socket closed where we could not
// see it: a raw syscall, fclose of an fdopen'd socket) names a claim whose socket is gone, so
// releasing it at the next close of that number is what should happen anyway.
void mark_fd_used(int fd) noexcept {
  const FdClaim claim = tracked_claim(fd);
  if (claim.valid()) g_state.table->mark_used(claim.ref);
}

FdClaim detach_fd(int fd) noexcept { return untrack_fd(fd); }

void release_claim(const FdClaim& claim) noexcept {
  if (!claim.valid() || claim_still_referenced(claim)) return;
  const ProcessIdentity me = g_state.claimant.process;
  const bool released = g_state.table->release(claim.ref, me, monotonic_ms());
  if (released) log_line(LogLevel::debug, "released port {}", claim.port);
}

}  // namespace portsafe::shim
