// Reading what a notified bind() asks for, and taking its socket, without writing anything into
// the target. Every look at the target is bracketed by SECCOMP_IOCTL_NOTIF_ID_VALID: the pid in
// a notification may have died and been reused by an unrelated process meanwhile (seccomp_unotify(2)).
#pragma once

#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "portsafe/unique_fd.hpp"

namespace portsafe::intercept {

// True while the notification id is still pending (its target alive and waiting).
bool notification_valid(int listener, uint64_t id) noexcept;

// The sockaddr the target passed to bind (args[1], args[2] bytes, at most sizeof storage).
// nullopt when the target is gone or the memory cannot be read (the kernel then reports EFAULT
// itself).
struct TargetAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
};
std::optional<TargetAddress> read_bind_address(int listener, const seccomp_notif& request);

// A duplicate of the target's descriptor args[0] (pidfd_getfd): the same socket object, so a bind
// of the duplicate binds the program's socket. Invalid when the target is gone or the number is
// not open; errno says why.
UniqueFd take_target_descriptor(int listener, const seccomp_notif& request);

// The process (thread group) the thread tid belongs to, -1 when it is gone.
pid_t process_of(pid_t tid);

}  // namespace portsafe::intercept
