#include "real_libc.hpp"

#include <dlfcn.h>
#include <pthread.h>

namespace portsafe::shim {
namespace {

RealLibc g_real;
pthread_once_t g_resolve_once = PTHREAD_ONCE_INIT;

template <typename Fn>
void resolve(Fn& slot, const char* name) noexcept {
  // dlsym returns void*; POSIX guarantees it converts to a function pointer.
  slot = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

void resolve_all() noexcept {
  resolve(g_real.socket, "socket");
  resolve(g_real.setsockopt, "setsockopt");
  resolve(g_real.bind, "bind");
  resolve(g_real.connect, "connect");
  resolve(g_real.accept, "accept");
  resolve(g_real.accept4, "accept4");
  resolve(g_real.send, "send");
  resolve(g_real.sendto, "sendto");
  resolve(g_real.sendmsg, "sendmsg");
  resolve(g_real.sendmmsg, "sendmmsg");
  resolve(g_real.recv, "recv");
  resolve(g_real.recvfrom, "recvfrom");
  resolve(g_real.recvmsg, "recvmsg");
  resolve(g_real.recvmmsg, "recvmmsg");
  resolve(g_real.recv_chk, "__recv_chk");
  resolve(g_real.recvfrom_chk, "__recvfrom_chk");
  resolve(g_real.getsockname, "getsockname");
  resolve(g_real.getpeername, "getpeername");
  resolve(g_real.close, "close");
  resolve(g_real.dup, "dup");
  resolve(g_real.dup2, "dup2");
  resolve(g_real.dup3, "dup3");
  resolve(g_real.fcntl, "fcntl");
  resolve(g_real.fcntl64, "fcntl64");
  resolve(g_real.close_range, "close_range");
  resolve(g_real.closefrom, "closefrom");
}

}  // namespace

const RealLibc& real() noexcept {
  ::pthread_once(&g_resolve_once, resolve_all);
  return g_real;
}

}  // namespace portsafe::shim
