// bind() for TCP/UDP inet sockets, coordinated through the port table:
//   port 0      -> a port picked from the job's range, claimed, then bound explicitly;
//   a given port -> claimed for the job first; refused with EADDRINUSE when another job has it.
// Everything else passes through. Never blocks, never loops unbounded, never allocates.
#pragma once

#include <sys/socket.h>

namespace portsafe::shim {

// Same contract as bind(2): 0, or -1 with errno; on success errno is left as it was.
int coordinated_bind(int fd, const struct sockaddr* addr, socklen_t length) noexcept;

// True when the caller is the process the shim's state describes. A vfork child (which skips
// the fork handlers and shares our memory) is not: it must neither claim nor touch the entries.
bool in_own_process() noexcept;

}  // namespace portsafe::shim
