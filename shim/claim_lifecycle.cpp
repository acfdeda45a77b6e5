#include "claim_lifecycle.hpp"

#include "shim_log.hpp"
#include "shim_state.hpp"
#include "socket_kind.hpp"

namespace portsafe::shim {

void mark_fd_used(int fd) noexcept {
  const FdClaim claim = tracked_claim(fd);
  if (!claim.valid()) return;
  // A stale entry (its socket closed behind our back, the number reused) must not mark the old
  // claim used; the port check tells them apart.
  if (local_port(fd) != claim.port) return;
  g_state.table->mark_used(claim.ref);
}

FdClaim detach_fd(int fd) noexcept {
  const FdClaim claim = untrack_fd(fd);
  if (claim.valid() && local_port(fd) != claim.port) {
    // The socket that made this claim was closed where we could not see it (closefrom, a raw
    // syscall) and the number now names something else; the claim still needs releasing.
    log_line(LogLevel::debug, "fd {} no longer is the socket of port {}: releasing its stale claim", fd, claim.port);
  }
  return claim;
}

void release_claim(const FdClaim& claim) noexcept {
  if (!claim.valid() || claim_still_referenced(claim)) return;
  const ProcessIdentity me = g_state.claimant.process;
  const bool released = g_state.table->release(claim.ref, me, monotonic_ms());
  if (released) log_line(LogLevel::debug, "released port {}", claim.port);
}

}  // namespace portsafe::shim
