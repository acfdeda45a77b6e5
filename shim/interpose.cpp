// The exported wrappers: the only symbols libportsafe.so makes visible (exports.map). Each one
// calls the real function and, for sockets the shim claimed, keeps the port's lifecycle right.
// A wrapper leaves errno exactly as the real call did.
#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "claim_lifecycle.hpp"
#include "coordinated_bind.hpp"
#include "real_libc.hpp"
#include "socket_kind.hpp"
#include "socket_facts.hpp"
#include "shim_state.hpp"
#include "virtual_rewrite.hpp"

namespace portsafe::shim {
namespace {

// True when fd carries a claim this process made and may act on (not from a vfork child).
bool tracked_here(int fd) noexcept { return shim_active() && tracked_claim(fd).valid() && in_own_process(); }

// No vfork check here: marking a claim used from a vfork child (which would have to serve on
// the parent's socket between vfork and exec) does no harm, and it saves a getpid() per call.
// The send/receive wrappers run on every datagram and every stream read or write: for a socket
// without a claim (nearly all of them) this is one load of the fd's entry.
void mark_used_keeping_errno(int fd) noexcept {
  if (shim_active() && tracked_claim(fd).valid()) mark_fd_used(fd);
}

// accept() handed out a connection: the listening port served someone, so it is really used.
// The new descriptor names a socket we did not see made.
int note_accepted(int listener, int rc) noexcept {
  if (rc >= 0) {
    forget_socket_facts(rc);
    mark_used_keeping_errno(listener);
  }
  return rc;
}

// A datagram (or stream data) went out or came in on fd: a UDP port that carried traffic was
// really used. (A stream socket that carries data was connected or accepted already.)
template <typename Count>
Count note_traffic(int fd, Count rc) noexcept {
  if (rc >= 0) mark_used_keeping_errno(fd);
  return rc;
}

// newfd now names the same socket as oldfd: it carries the same claim.
void copy_claim(int oldfd, int newfd) noexcept {
  const int saved_errno = errno;
  if (tracked_here(oldfd)) {
    const FdClaim previous = track_fd(newfd, tracked_claim(oldfd));
    if (previous.valid()) release_claim(previous);
  }
  errno = saved_errno;
}

// Descriptors [first, last] are closed already: forget their claims. Each claim is released by
// the last of its descriptors, because the others are still tracked when the earlier ones go.
void release_closed_range(unsigned first, unsigned last) noexcept {
  if (!shim_active() || !in_own_process()) return;
  const int saved_errno = errno;
  const auto limit = static_cast<unsigned>(tracked_fd_limit());
  for (unsigned fd = first; fd < limit && fd <= last; ++fd) {
    const FdClaim claim = untrack_fd(static_cast<int>(fd));
    if (claim.valid()) release_claim(claim);
  }
  errno = saved_errno;
}

// dup2/dup3: the kernel closes newfd (when open) as part of the call.
template <typename Call>
int replace_descriptor(int oldfd, int newfd, Call call) noexcept {
  if (oldfd != newfd) forget_socket_facts(newfd);
  if (oldfd == newfd || !tracked_here(newfd)) {
    const int rc = call();
    if (rc >= 0 && oldfd != newfd) copy_claim(oldfd, newfd);
    return rc;
  }
  const int saved_errno = errno;
  const FdClaim replaced = detach_fd(newfd);
  errno = saved_errno;
  const int rc = call();
  const int call_errno = errno;
  if (rc < 0) {
    track_fd(newfd, replaced);  // nothing was closed
  } else {
    copy_claim(oldfd, newfd);
    release_claim(replaced);
  }
  errno = call_errno;
  return rc;
}

bool is_dup_command(int cmd) noexcept { return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC; }

// sendmsg() with a virtual destination: the program's header copied, its name rewritten.
ssize_t send_message(int fd, const struct msghdr* message, int flags) noexcept {
  if (!virtual_active() || message == nullptr || message->msg_name == nullptr) {
    return real().sendmsg(fd, message, flags);
  }
  sockaddr_storage scratch;
  const Address destination =
      virtual_destination(fd, static_cast<const sockaddr*>(message->msg_name), message->msg_namelen, scratch);
  if (destination.addr == message->msg_name) return real().sendmsg(fd, message, flags);
  msghdr copy = *message;
  copy.msg_name = const_cast<sockaddr*>(destination.addr);  // our stack copy; the kernel only reads it
  copy.msg_namelen = destination.length;
  return real().sendmsg(fd, &copy, flags);
}

bool names_virtual_destination(const struct mmsghdr* messages, unsigned int count) noexcept {
  for (unsigned int i = 0; i < count; ++i) {
    const msghdr& header = messages[i].msg_hdr;
    const auto port = inet_address_port(static_cast<const sockaddr*>(header.msg_name), header.msg_namelen);
    if (port && g_virtual.ports.is_virtual_port(*port)) return true;
  }
  return false;
}

// sendmmsg() with a virtual destination among the messages: sent in batches of stack copies
// (the program's array is not ours to change), with the kernel's answer for the whole vector:
// the count sent when at least one went, else the first batch's error.
int send_messages(int fd, struct mmsghdr* messages, unsigned int count, int flags) noexcept {
  if (!virtual_active() || messages == nullptr || !names_virtual_destination(messages, count)) {
    return real().sendmmsg(fd, messages, count, flags);
  }
  constexpr unsigned int kBatch = 8;
  count = std::min(count, 1024u);  // UIO_MAXIOV: the kernel sends no more in one call
  const int saved_errno = errno;
  unsigned int sent = 0;
  while (sent < count) {
    const unsigned int size = std::min(kBatch, count - sent);
    mmsghdr batch[kBatch];
    sockaddr_storage names[kBatch];
    for (unsigned int i = 0; i < size; ++i) {
      batch[i] = messages[sent + i];
      msghdr& header = batch[i].msg_hdr;
      const Address destination =
          virtual_destination(fd, static_cast<const sockaddr*>(header.msg_name), header.msg_namelen, names[i]);
      header.msg_name = const_cast<sockaddr*>(destination.addr);
      header.msg_namelen = destination.length;
    }
    const int rc = real().sendmmsg(fd, batch, size, flags);
    if (rc < 0) {
      if (sent == 0) return rc;
      errno = saved_errno;
      break;
    }
    for (int i = 0; i < rc; ++i) messages[sent + static_cast<unsigned int>(i)].msg_len = batch[i].msg_len;
    sent += static_cast<unsigned int>(rc);
    if (static_cast<unsigned int>(rc) < size) break;
  }
  return static_cast<int>(sent);
}

// recvmsg(): the sender's address as the program must see it. A name buffer too small for any
// inet address is served from a stack buffer and cut as the kernel cuts it (recvmsg cannot be
// repeated, so the copy out is the kernel's: copy_to_program).
ssize_t receive_message(int fd, struct msghdr* message, int flags) noexcept {
  if (!virtual_active() || message == nullptr || message->msg_name == nullptr) {
    return real().recvmsg(fd, message, flags);
  }
  if (message->msg_namelen >= sizeof(sockaddr_in6)) {
    const ssize_t rc = real().recvmsg(fd, message, flags);
    if (rc >= 0) present_virtual(fd, static_cast<sockaddr*>(message->msg_name), message->msg_namelen,
                                 Reported::peer_address);
    return rc;
  }
  sockaddr_storage whole{};
  msghdr copy = *message;
  copy.msg_name = &whole;
  copy.msg_namelen = sizeof whole;
  const ssize_t rc = real().recvmsg(fd, &copy, flags);
  if (rc >= 0) {
    present_virtual(fd, reinterpret_cast<sockaddr*>(&whole), copy.msg_namelen, Reported::peer_address);
    // The kernel's copy: an invalid msg_name gets EFAULT (as from libc), not a crash.
    if (!copy_to_program(message->msg_name, &whole, std::min(message->msg_namelen, copy.msg_namelen))) {
      errno = EFAULT;
      return -1;
    }
    message->msg_namelen = copy.msg_namelen;
    message->msg_controllen = copy.msg_controllen;
    message->msg_flags = copy.msg_flags;
  }
  return rc;
}

// recvmmsg(): each received message's sender, where its whole address fit the program's buffer
// (the kernel's limit on a vector is UIO_MAXIOV messages; their capacities fit in a byte each,
// as no inet address needs more). A sender cut short by a tiny buffer is left as the kernel wrote it.
int receive_messages(int fd, struct mmsghdr* messages, unsigned int count, int flags, struct timespec* timeout) noexcept {
  if (!virtual_active() || messages == nullptr) return real().recvmmsg(fd, messages, count, flags, timeout);
  constexpr unsigned int kMaxMessages = 1024;  // UIO_MAXIOV
  uint8_t capacity[kMaxMessages];
  const unsigned int known = std::min(count, kMaxMessages);
  for (unsigned int i = 0; i < known; ++i) {
    const msghdr& header = messages[i].msg_hdr;
    capacity[i] = header.msg_name == nullptr ? 0 : static_cast<uint8_t>(std::min<socklen_t>(header.msg_namelen, 255));
  }
  const int rc = real().recvmmsg(fd, messages, count, flags, timeout);
  for (int i = 0; i < rc && static_cast<unsigned int>(i) < known; ++i) {
    msghdr& header = messages[i].msg_hdr;
    if (capacity[i] != 0 && header.msg_namelen <= capacity[i]) {
      present_virtual(fd, static_cast<sockaddr*>(header.msg_name), header.msg_namelen, Reported::peer_address);
    }
  }
  return rc;
}

}  // namespace
}  // namespace portsafe::shim

using namespace portsafe::shim;

extern "C" {

int socket(int domain, int type, int protocol) {
  const int fd = real().socket(domain, type, protocol);
  if (fd >= 0) note_socket_created(fd, domain, type, protocol);
  return fd;
}

int setsockopt(int fd, int level, int name, const void* value, socklen_t length) {
  const int rc = real().setsockopt(fd, level, name, value, length);
  if (rc == 0) note_socket_option(fd, level, name, value, length);
  return rc;
}

// A virtual port is rewritten BEFORE the coordinated bind: the real port is the one the job's
// supervisor holds, so the own-held rule sets SO_REUSEADDR and the bind passes.
int bind(int fd, const struct sockaddr* addr, socklen_t length) {
  sockaddr_storage scratch;
  const Address real_address = virtual_bind_address(fd, addr, length, scratch);
  return coordinated_bind(fd, real_address.addr, real_address.length);
}

// listen() is not interposed: bound and listening without a connection is what a port probe
// (`new ServerSocket(0)`, portpicker) does to learn a number, and that number must linger.

int connect(int fd, const struct sockaddr* addr, socklen_t length) {
  sockaddr_storage scratch;
  const Address destination = virtual_destination(fd, addr, length, scratch);
  const int rc = real().connect(fd, destination.addr, destination.length);
  if (rc == 0 || errno == EINPROGRESS) mark_used_keeping_errno(fd);
  return rc;
}

int accept(int fd, struct sockaddr* addr, socklen_t* length) {
  return note_accepted(fd, real().accept(fd, addr, length));
}

int accept4(int fd, struct sockaddr* addr, socklen_t* length, int flags) {
  return note_accepted(fd, real().accept4(fd, addr, length, flags));
}

ssize_t send(int fd, const void* data, size_t size, int flags) {
  return note_traffic(fd, real().send(fd, data, size, flags));
}

ssize_t sendto(int fd, const void* data, size_t size, int flags, const struct sockaddr* addr, socklen_t length) {
  sockaddr_storage scratch;
  const Address destination = virtual_destination(fd, addr, length, scratch);
  return note_traffic(fd, real().sendto(fd, data, size, flags, destination.addr, destination.length));
}

ssize_t sendmsg(int fd, const struct msghdr* message, int flags) {
  return note_traffic(fd, send_message(fd, message, flags));
}

int sendmmsg(int fd, struct mmsghdr* messages, unsigned int count, int flags) {
  return note_traffic(fd, send_messages(fd, messages, count, flags));
}

ssize_t recv(int fd, void* data, size_t size, int flags) {
  return note_traffic(fd, real().recv(fd, data, size, flags));
}

ssize_t recvfrom(int fd, void* data, size_t size, int flags, struct sockaddr* addr, socklen_t* length) {
  return note_traffic(fd, report_virtual(fd, addr, length, Reported::peer_address, Repeat::forbidden,
                                         [&](sockaddr* to, socklen_t* size_of) {
                        return real().recvfrom(fd, data, size, flags, to, size_of);
                      }));
}

ssize_t recvmsg(int fd, struct msghdr* message, int flags) {
  return note_traffic(fd, receive_message(fd, message, flags));
}

int recvmmsg(int fd, struct mmsghdr* messages, unsigned int count, int flags, struct timespec* timeout) {
  return note_traffic(fd, receive_messages(fd, messages, count, flags, timeout));
}

// Programs built with _FORTIFY_SOURCE (Ubuntu's and Fedora's default) call these instead of
// recv/recvfrom when the buffer's size is known: the same traffic, so the same use.
ssize_t __recv_chk(int fd, void* data, size_t size, size_t capacity, int flags) {
  return note_traffic(fd, real().recv_chk(fd, data, size, capacity, flags));
}

ssize_t __recvfrom_chk(int fd, void* data, size_t size, size_t capacity, int flags, struct sockaddr* addr,
                       socklen_t* length) {
  return note_traffic(fd, report_virtual(fd, addr, length, Reported::peer_address, Repeat::forbidden,
                                         [&](sockaddr* to, socklen_t* size_of) {
                        return real().recvfrom_chk(fd, data, size, capacity, flags, to, size_of);
                      }));
}

// Not interposed for the claims: only so a virtual port reads as the program asked for it.
int getsockname(int fd, struct sockaddr* addr, socklen_t* length) {
  return report_virtual(fd, addr, length, Reported::own_address, Repeat::allowed,
                        [&](sockaddr* to, socklen_t* size_of) { return real().getsockname(fd, to, size_of); });
}

int getpeername(int fd, struct sockaddr* addr, socklen_t* length) {
  return report_virtual(fd, addr, length, Reported::peer_address, Repeat::allowed,
                        [&](sockaddr* to, socklen_t* size_of) { return real().getpeername(fd, to, size_of); });
}

int close(int fd) {
  forget_socket_facts(fd);
  if (!tracked_here(fd)) return real().close(fd);
  const int saved_errno = errno;
  const FdClaim claim = detach_fd(fd);
  errno = saved_errno;
  const int rc = real().close(fd);
  const int close_errno = errno;
  release_claim(claim);  // also after EINTR: Linux has closed the descriptor by then
  errno = close_errno;
  return rc;
}

int dup(int oldfd) {
  const int rc = real().dup(oldfd);
  if (rc >= 0) forget_socket_facts(rc);
  if (rc >= 0) copy_claim(oldfd, rc);
  return rc;
}

int dup2(int oldfd, int newfd) {
  return replace_descriptor(oldfd, newfd, [&] { return real().dup2(oldfd, newfd); });
}

int dup3(int oldfd, int newfd, int flags) {
  return replace_descriptor(oldfd, newfd, [&] { return real().dup3(oldfd, newfd, flags); });
}

// fcntl's third argument is an int, a long or a pointer depending on cmd; like glibc we pass it
// on as a pointer-sized value.
int fcntl(int fd, int cmd, ...) {
  va_list args;
  va_start(args, cmd);
  void* arg = va_arg(args, void*);
  va_end(args);
  const int rc = real().fcntl(fd, cmd, arg);
  if (rc >= 0 && is_dup_command(cmd)) {
    forget_socket_facts(rc);
    copy_claim(fd, rc);
  }
  return rc;
}

int fcntl64(int fd, int cmd, ...) {
  va_list args;
  va_start(args, cmd);
  void* arg = va_arg(args, void*);
  va_end(args);
  const auto call = real().fcntl64 != nullptr ? real().fcntl64 : real().fcntl;
  const int rc = call(fd, cmd, arg);
  if (rc >= 0 && is_dup_command(cmd)) {
    forget_socket_facts(rc);
    copy_claim(fd, rc);
  }
  return rc;
}

int close_range(unsigned first, unsigned last, int flags) {
  const int rc = real().close_range != nullptr
                     ? real().close_range(first, last, flags)
                     : static_cast<int>(::syscall(SYS_close_range, first, last, flags));
  // CLOSE_RANGE_CLOEXEC only marks the descriptors; nothing is closed yet.
  if (rc == 0 && (flags & CLOSE_RANGE_CLOEXEC) == 0) {
    forget_socket_facts_range(first, last);
    release_closed_range(first, last);
  }
  return rc;
}

void closefrom(int lowfd) {
  if (real().closefrom != nullptr) {
    real().closefrom(lowfd);
  } else {
    ::syscall(SYS_close_range, static_cast<unsigned>(lowfd), ~0u, 0);
  }
  if (lowfd >= 0) {
    forget_socket_facts_range(static_cast<unsigned>(lowfd), ~0u);
    release_closed_range(static_cast<unsigned>(lowfd), ~0u);
  }
}

}  // extern "C"
