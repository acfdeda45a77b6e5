// The real libc functions behind our wrappers, resolved once with dlsym(RTLD_NEXT).
//
// Resolution happens in the library constructor; a wrapper that runs earlier (another library's
// constructor) resolves through pthread_once. Nothing here allocates after that, and a wrapper
// never calls itself: every call the shim makes on the program's behalf goes through these.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

namespace portsafe::shim {

struct RealLibc {
  int (*socket)(int, int, int) = nullptr;
  int (*setsockopt)(int, int, int, const void*, socklen_t) = nullptr;
  int (*bind)(int, const struct sockaddr*, socklen_t) = nullptr;
  int (*connect)(int, const struct sockaddr*, socklen_t) = nullptr;
  int (*accept)(int, struct sockaddr*, socklen_t*) = nullptr;
  int (*accept4)(int, struct sockaddr*, socklen_t*, int) = nullptr;
  ssize_t (*send)(int, const void*, size_t, int) = nullptr;
  ssize_t (*sendto)(int, const void*, size_t, int, const struct sockaddr*, socklen_t) = nullptr;
  ssize_t (*sendmsg)(int, const struct msghdr*, int) = nullptr;
  int (*sendmmsg)(int, struct mmsghdr*, unsigned int, int) = nullptr;
  ssize_t (*recv)(int, void*, size_t, int) = nullptr;
  ssize_t (*recvfrom)(int, void*, size_t, int, struct sockaddr*, socklen_t*) = nullptr;
  ssize_t (*recvmsg)(int, struct msghdr*, int) = nullptr;
  int (*recvmmsg)(int, struct mmsghdr*, unsigned int, int, struct timespec*) = nullptr;
  // What _FORTIFY_SOURCE builds call for recv/recvfrom into a buffer of known size.
  ssize_t (*recv_chk)(int, void*, size_t, size_t, int) = nullptr;
  ssize_t (*recvfrom_chk)(int, void*, size_t, size_t, int, struct sockaddr*, socklen_t*) = nullptr;
  // The shim's own questions about a socket go to these, never to its wrappers (which would
  // report a virtual port where the claim knows the real one).
  int (*getsockname)(int, struct sockaddr*, socklen_t*) = nullptr;
  int (*getpeername)(int, struct sockaddr*, socklen_t*) = nullptr;
  int (*close)(int) = nullptr;
  int (*dup)(int) = nullptr;
  int (*dup2)(int, int) = nullptr;
  int (*dup3)(int, int, int) = nullptr;
  int (*fcntl)(int, int, ...) = nullptr;
  int (*fcntl64)(int, int, ...) = nullptr;
  int (*close_range)(unsigned, unsigned, int) = nullptr;
  void (*closefrom)(int) = nullptr;
};

// The resolved table (resolving it first if needed). A symbol libc lacks stays null: the
// wrappers then fall back to the raw system call.
const RealLibc& real() noexcept;

}  // namespace portsafe::shim
