// The preload shim's own binds must not pay a seccomp notification when the job also runs under
// the seccomp tier: the shim has already applied the claim rules. The filter lets a bind through
// untouched when its address length is kUnnotifiedBindLength. The kernel accepts an inet address
// longer than sockaddr_in/sockaddr_in6 (up to sizeof(sockaddr_storage), 128) and reads only what
// it needs, so the shim pads the program's address to this length; no real program passes it
// (they pass 16, 28, 24, 110 or 128). Checked on this kernel for IPv4 and IPv6, TCP and UDP
// (tests/intercept/unnotified_bind_test.cpp).
#pragma once

#include <sys/socket.h>

namespace portsafe {

inline constexpr socklen_t kUnnotifiedBindLength = 117;

// bind(2) of an inet address through the filter's allow rule. Returns 0, or -1 with errno as the
// program's own bind would have left it (one difference is undone: a short IPv4 address on an
// IPv6 socket fails with EINVAL for its length, but padded it reaches the family check).
int bind_unnotified(int fd, const struct sockaddr* addr, socklen_t length) noexcept;

// The same through bind_call: the preload shim passes the next bind() in the library chain
// (RTLD_NEXT), so a library preloaded after it (socket_wrapper, a sanitizer's interceptor) still
// sees the program's binds.
using BindCall = int (*)(int, const struct sockaddr*, socklen_t);
int bind_unnotified(int fd, const struct sockaddr* addr, socklen_t length, BindCall bind_call) noexcept;

}  // namespace portsafe
