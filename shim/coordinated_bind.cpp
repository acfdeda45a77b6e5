#include "coordinated_bind.hpp"

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>

#include "claim_lifecycle.hpp"
#include "portsafe/bind_rules.hpp"
#include "portsafe/unnotified_bind.hpp"
#include "real_libc.hpp"
#include "shim_log.hpp"
#include "shim_state.hpp"
#include "socket_facts.hpp"
#include "socket_kind.hpp"

namespace portsafe::shim {
namespace {

int passthrough(int fd, const struct sockaddr* addr, socklen_t length) noexcept {
  return real().bind(fd, addr, length);
}

// The program's socket as the core's claim rules see it. Its binds go through the seccomp
// filter's allow rule: the rules were applied here, a notification would apply them twice.
class ShimSite final : public BindSite {
 public:
  explicit ShimSite(int fd) noexcept : fd_(fd) {}

  int bind(const struct sockaddr* addr, socklen_t length) noexcept override {
    return bind_unnotified(fd_, addr, length, real().bind) == 0 ? 0 : errno;
  }
  std::optional<int> int_option(int level, int name) noexcept override { return shim::int_option(fd_, level, name); }
  void set_int_option(int level, int name, int value) noexcept override {
    shim::set_int_option(fd_, level, name, value);
    note_socket_option(fd_, level, name, &value, sizeof value);
  }
  // Records a successful claim on fd; a claim the fd carried before (its socket closed where we
  // could not see it) is released now.
  void remember(const SlotRef& ref, uint16_t port) noexcept override {
    const FdClaim previous = track_fd(fd_, FdClaim{ref, port});
    if (previous.valid()) release_claim(previous);
  }
  void note(const BindNote& note) noexcept override;

 private:
  int fd_;
};

void ShimSite::note(const BindNote& note) noexcept {
  const char* proto = protocol_name(note.proto);
  switch (note.event) {
    case BindEvent::picked:
      log_line(LogLevel::info, "bind {} port 0 -> picked {}{}", proto, note.port,
               note.gave_way ? " (a linger gave way)" : "");
      break;
    case BindEvent::outsider_skipped:
      log_line(LogLevel::debug, "{} port {} is in use outside portsafe; trying the next", proto, note.port);
      break;
    case BindEvent::fallback_full:
    case BindEvent::fallback_outsiders: {
      const bool full = note.event == BindEvent::fallback_full;
      if (first_time(full ? Once::range_full : Once::fallback_bind)) {
        log_line(LogLevel::warn,
                 "{} range {}-{} {}; letting the kernel choose this port (widen PORTSAFE_RANGE or run fewer jobs)",
                 proto, note.range.low, note.range.high,
                 full ? "is full (a live socket or a hold on every port)"
                      : "is taken by programs running without portsafe");
      } else {
        log_line(LogLevel::info, "{} range full: letting the kernel choose", proto);
      }
      break;
    }
    case BindEvent::fallback_host:
      if (first_time(Once::host_blocks_full)) {
        log_line(LogLevel::warn,
                 "{} ports: this account's blocks of {}-{} are full and the host daemon leased no more (refused or "
                 "unreachable); letting the kernel choose (see `portsafe doctor`)",
                 proto, note.range.low, note.range.high);
      } else {
        log_line(LogLevel::info, "{} account's blocks full: letting the kernel choose", proto);
      }
      break;
    case BindEvent::claimed:
      log_line(LogLevel::info, "bind {} port {}: claimed for the job", proto, note.port);
      break;
    case BindEvent::own_held:
      log_line(LogLevel::info, "bind {} port {}: held for this job; SO_REUSEADDR set", proto, note.port);
      break;
    case BindEvent::other_job:
      log_line(LogLevel::info, "bind {} port {} refused (EADDRINUSE): job '{}' (pid {}) holds it", proto, note.port,
               static_cast<const char*>(note.holder->job_name), note.holder->pid);
      break;
    case BindEvent::other_account:
      log_line(LogLevel::info, "bind {} port {} refused (EADDRINUSE): another account has it (host daemon)", proto,
               note.port);
      break;
  }
}

}  // namespace

bool in_own_process() noexcept {
  return static_cast<uint32_t>(::getpid()) == g_state.claimant.process.pid;
}

int coordinated_bind(int fd, const struct sockaddr* addr, socklen_t length) noexcept {
  // A vfork child shares our memory but is not us: it must not claim in our name (under the
  // seccomp tier, portsafe-run claims for it).
  if (!shim_active() || !in_own_process()) return passthrough(fd, addr, length);
  const int saved_errno = errno;
  const auto port = inet_address_port(addr, length);
  if (!port) return passthrough(fd, addr, length);
  // Facts noted at socket()/setsockopt() spare four getsockopt() calls; else ask the kernel.
  const std::optional<SocketFacts> facts = known_socket_facts(fd);
  const auto proto = facts ? facts->proto : inet_socket_protocol(fd);
  // Not TCP/UDP (raw, SCTP...): nobody coordinates it, and the handler need not be asked either.
  if (!proto) return bind_unnotified(fd, addr, length, real().bind);
  BindRequest request;
  request.addr = addr;
  request.length = length;
  request.proto = *proto;
  request.port = *port;
  if (facts) {
    request.reuse_address = facts->reuse_address;
    request.bind_address_no_port = facts->bind_address_no_port;
  }
  const BindScope scope{*g_state.table, g_state.job_range, g_state.claimant, &g_state.fallbacks_in_a_row,
                        g_state.host, g_state.kernel_virtual};
  ShimSite site(fd);
  const int error = coordinated_inet_bind(scope, request, site);
  errno = error == 0 ? saved_errno : error;
  return error == 0 ? 0 : -1;
}

}  // namespace portsafe::shim
