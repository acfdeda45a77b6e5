// The claims the seccomp handler made for the job. The handler (portsafe-run) owns them: the
// program's close() is a raw syscall nobody sees, so a claim ends when the kernel's socket table
// (SocketCensus) lists no socket on its port any more — checked on a short timer and before a
// pick declares the range full — or when portsafe-run ends the job. Any live socket on the port
// keeps the claim, not only the one that was bound through us: the idiom closes the picked
// socket and a server of the job binds the number again (before the claim was seen to end, that
// bind is the job's own and is not notified to us as a new claim), and accepted connections
// outlive their listener.
//
// Used or not, decided as the shim does, from what the kernel shows while the socket lives: a
// connection on the port (ESTABLISHED or a later state, on the socket or an accepted child of a
// listener) or a connected or busy UDP socket marks the claim used, and its end frees the port; a socket
// never seen carrying traffic (bound, listened on, closed: `bind 0`, read the number, hand it on)
// lingers for the job. A connection too short to fall between two looks is missed; the port then
// lingers, which is the safe side.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "intercept/socket_census.hpp"
#include "portsafe/port_table.hpp"

namespace portsafe::intercept {

struct TrackedClaim {
  SlotRef ref;
  Protocol proto = Protocol::tcp;
  uint16_t port = 0;
  uint64_t inode = 0;  // the socket bound through us (the census keys on the port)
  bool used = false;
};

class ClaimTracker {
 public:
  ClaimTracker(PortTable& table, ProcessIdentity owner);

  void add(const TrackedClaim& claim);
  bool empty() const noexcept { return claims_.empty(); }
  size_t size() const noexcept { return claims_.size(); }

  // Looks at the kernel's sockets: marks use, releases the claims whose socket is gone. Returns
  // how many were released.
  size_t sweep();
  // The job is over: every claim is released (used: free; unused: lingers for the job).
  void release_all();

 private:
  void release(const TrackedClaim& claim);

  PortTable& table_;
  ProcessIdentity owner_;
  SocketCensus census_;
  bool census_sees_bound_tcp();
  std::optional<bool> census_sees_bound_tcp_;
  std::vector<TrackedClaim> claims_;
};

}  // namespace portsafe::intercept
