// Virtual ports in the shim (issue 12, shim mode): with PORTSAFE_VIRTUAL set, a job's hard-coded
// port V lands on the real port R its supervisor holds. The decisions are the core's
// (portsafe/virtual_ports.hpp); this file applies them to the program's calls: it rewrites
// copies of the addresses the program passes (stack buffers; the program's memory is never
// changed on the way in) and the addresses the kernel reports back, writing no more bytes than
// the program's buffer holds, as the kernel would.
//
// Without PORTSAFE_VIRTUAL every helper costs one load and one branch.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "portsafe/virtual_ports.hpp"

namespace portsafe::shim {

struct VirtualState {
  VirtualPorts ports;
  LocalAddresses interfaces;  // snapshot at start-up
};

extern std::atomic<bool> g_virtual_active;
extern VirtualState g_virtual;

inline bool virtual_active() noexcept { return g_virtual_active.load(std::memory_order_acquire); }

// Reads PORTSAFE_VIRTUAL (library constructor only): a malformed list earns one warning and
// leaves every call unchanged.
void start_virtual_ports() noexcept;

// Reads PORTSAFE_VIRTUAL_KERNEL (bpf mode: the virtual ports the job's BPF programs rewrite, the
// same wire form) into a static table, once, before the shim turns active: the claim rules then
// leave binds to those ports to the kernel (BindScope::kernel_virtual). Null when it is unset or
// empty, or malformed (one warning): then no bind passes unclaimed.
const VirtualPorts* read_kernel_virtual_ports() noexcept;

// An address to pass on: the program's own, or a rewritten copy in the caller's scratch buffer.
struct Address {
  const struct sockaddr* addr;
  socklen_t length;
};

// bind(): any address with a virtual port of the socket's protocol.
Address virtual_bind_address(int fd, const struct sockaddr* addr, socklen_t length,
                             struct sockaddr_storage& scratch) noexcept;
// connect()/sendto()/sendmsg(): a local destination with a virtual port.
Address virtual_destination(int fd, const struct sockaddr* addr, socklen_t length,
                            struct sockaddr_storage& scratch) noexcept;

enum class Reported { own_address, peer_address };

// addr (length bytes, the whole address) as the program must see it: real port -> virtual.
void present_virtual(int fd, struct sockaddr* addr, socklen_t length, Reported which) noexcept;

// Copies size bytes into the program's buffer `to` as the kernel's copy_to_user would: false
// (nothing crashes) when the program may not write there, so the caller can return EFAULT.
bool copy_to_program(void* to, const void* from, size_t size) noexcept;

// Whether a call may be repeated without losing anything: getsockname/getpeername may,
// recvfrom may not (it consumes the datagram).
enum class Repeat { allowed, forbidden };

// Runs call(addr, length) -- getsockname, getpeername, recvfrom: anything reporting an address
// into the program's buffer -- and presents the address with its virtual port.
// A buffer too small for any inet address must still end up with the kernel's truncation of the
// REWRITTEN address, so the shim needs the whole address first. The program's pointer is never
// touched by the shim where the kernel would not have written (an invalid one earns EFAULT, as
// from libc, never a crash):
// - repeatable calls write into the program's buffer first (the kernel's errors, truncation and
//   *length); only for an inet address whose visible port may be a real port of this job is the
//   whole address read again into a stack buffer and its rewrite copied over the bytes the
//   kernel has just written (so they are writable);
// - recvfrom reads into a stack buffer and copies out with copy_to_program (EFAULT, as the kernel).
template <typename Call>
auto report_virtual(int fd, struct sockaddr* addr, socklen_t* length, Reported which, Repeat repeat,
                    Call call) noexcept {
  if (!virtual_active() || addr == nullptr || length == nullptr) return call(addr, length);
  if (*length >= sizeof(struct sockaddr_in6)) {
    const auto rc = call(addr, length);
    if (rc >= 0) present_virtual(fd, addr, *length, which);
    return rc;
  }
  const socklen_t capacity = *length;
  struct sockaddr_storage whole {};
  socklen_t whole_length = sizeof whole;
  if (repeat == Repeat::allowed) {
    const auto rc = call(addr, length);
    // sa_family is the first 2 bytes, the port (the same offset in both families) the next 2:
    // with 2 or fewer written nothing could show a real port.
    const socklen_t written = std::min(capacity, *length);
    if (rc < 0 || written <= 2) return rc;
    sa_family_t family = 0;
    std::memcpy(&family, addr, sizeof family);
    if (family != AF_INET && family != AF_INET6) return rc;
    if (written >= 4) {
      uint16_t port_bytes = 0;
      std::memcpy(&port_bytes, reinterpret_cast<const char*>(addr) + 2, sizeof port_bytes);
      if (!g_virtual.ports.is_real_port(ntohs(port_bytes))) return rc;
    }
    const int saved = errno;
    if (call(reinterpret_cast<struct sockaddr*>(&whole), &whole_length) < 0 || whole_length != *length) {
      errno = saved;  // the socket changed in between: the kernel's first answer stands
      return rc;
    }
    present_virtual(fd, reinterpret_cast<struct sockaddr*>(&whole), whole_length, which);
    std::memcpy(addr, &whole, written);  // bytes the kernel has just written: writable
    return rc;
  }
  const auto rc = call(reinterpret_cast<struct sockaddr*>(&whole), &whole_length);
  if (rc >= 0) {
    present_virtual(fd, reinterpret_cast<struct sockaddr*>(&whole), whole_length, which);
    if (!copy_to_program(addr, &whole, std::min(capacity, whole_length))) {
      errno = EFAULT;
      return static_cast<decltype(rc)>(-1);
    }
    *length = whole_length;
  }
  return rc;
}

}  // namespace portsafe::shim
