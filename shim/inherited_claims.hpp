// After exec, the descriptor array is empty but the process may still hold sockets it bound
// before exec (same pid, same start time, so the table still names it the owner). Rebuilding
// their entries lets accept/connect/close keep the lifecycle right across exec.
#pragma once

namespace portsafe::shim {

// Scans /proc/self/fd (start-up only: it allocates) and tracks every inet socket bound to a port
// whose table slot this process owns. Returns how many it found.
int adopt_inherited_claims() noexcept;

}  // namespace portsafe::shim
