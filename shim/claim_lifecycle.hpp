// What happens to a tracked claim after its bind: real use marks it used, the last close
// releases it (used: free again; unused: lingers for the job so the number can be handed on).
// Real use is a connection accepted (accept/accept4 returned one) or made (connect), or a
// datagram sent or received. Binding and listening is not: that is how programs learn a free
// number (`new ServerSocket(0)`, portpicker's TCP probe) before handing it to another program.
// Allocation-free, lock-free and async-signal-safe: these run inside close().
#pragma once

#include "fd_claims.hpp"

namespace portsafe::shim {

// fd accepted or made a connection, or carried a datagram: the port was really used.
void mark_fd_used(int fd) noexcept;

// fd is about to be closed (or replaced by dup2/dup3): forgets it and returns its claim, to be
// handed to release_claim once the descriptor is really gone.
FdClaim detach_fd(int fd) noexcept;

// Releases the claim unless another descriptor of this process still carries it. In a fork
// child the parent owns the slot and the table refuses; that is intended.
void release_claim(const FdClaim& claim) noexcept;

}  // namespace portsafe::shim
