#include "claim_lifecycle.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "real_libc.hpp"
#include "shim_log.hpp"
#include "shim_state.hpp"

namespace portsafe::shim {

namespace {

// The port fd's socket is bound to, or 0 (not an inet socket, not bound, or not a socket).
uint16_t bound_port(int fd) noexcept {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (real().getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  return 0;
}

}  // namespace

// An entry goes stale when its socket was closed where we could not see it (a raw syscall,
// fclose of an fdopen'd socket) and the number came back as another socket: marking the claim
// used from that socket's traffic would free at close a port that must linger. So the first use
// of a claim checks (one getsockname per claim, not per call) that fd still is the claim's
// socket; a stale entry is forgotten and its claim released as a close would have.
void mark_fd_used(int fd) noexcept {
  const FdClaim claim = tracked_claim(fd);
  if (!claim.valid() || !g_state.table->awaits_use(claim.ref)) return;
  const int saved_errno = errno;
  if (bound_port(fd) == claim.port) {
    g_state.table->mark_used(claim.ref);
  } else {
    const FdClaim stale = untrack_fd(fd);
    if (stale.valid()) release_claim(stale);
  }
  errno = saved_errno;
}

FdClaim detach_fd(int fd) noexcept { return untrack_fd(fd); }

void release_claim(const FdClaim& claim) noexcept {
  if (!claim.valid() || claim_still_referenced(claim)) return;
  const ProcessIdentity me = g_state.claimant.process;
  const bool released = g_state.table->release(claim.ref, me, monotonic_ms());
  if (released) log_line(LogLevel::debug, "released port {}", claim.port);
}

}  // namespace portsafe::shim
