#include "coordinated_bind.hpp"

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>

#include "claim_lifecycle.hpp"
#include "real_libc.hpp"
#include "shim_log.hpp"
#include "shim_state.hpp"
#include "socket_facts.hpp"
#include "socket_kind.hpp"

namespace portsafe::shim {
namespace {

// How many ports an outsider (a process without the shim) may turn us away from in one pick
// before we stop trying and let the kernel choose.
constexpr int kMaxOutsiderRetries = 64;
constexpr int kOn = 1;

int passthrough(int fd, const struct sockaddr* addr, socklen_t length) noexcept {
  return real().bind(fd, addr, length);
}

uint16_t port_of(const SlotRef& ref) noexcept {
  const PortRange range = g_state.table->range();
  return static_cast<uint16_t>(range.low + ref.index % range.size());
}

// Records a successful claim on fd; a claim the fd carried before (its socket closed where we
// could not see it) is released now.
void remember(int fd, const SlotRef& ref, uint16_t port) noexcept {
  const FdClaim previous = track_fd(fd, FdClaim{ref, port});
  if (previous.valid()) release_claim(previous);
}

// Every port of the range has a live socket or a hold (or outsiders hold every port we tried):
// the kernel chooses, and the table counts it, and how many ports the job would have needed, so
// `portsafe status` and `portsafe doctor` can show it.
int fall_back(int fd, const struct sockaddr* addr, socklen_t length, Protocol proto, bool full,
              uint32_t unavailable) noexcept {
  // The ports taken for good, plus one for each pick of this process that fell back in a row
  // (a lower bound: this process cannot see the other processes' fallbacks).
  const uint32_t short_by = g_state.fallbacks_in_a_row.fetch_add(1, std::memory_order_relaxed) + 1;
  if (full) {
    g_state.table->count_full_range();
    g_state.table->note_ports_needed(uint64_t{unavailable} + short_by, g_state.job_name);
  }
  g_state.table->count_fallback();
  if (first_time(full ? Once::range_full : Once::fallback_bind)) {
    log_line(LogLevel::warn,
             "{} range {}-{} {}; letting the kernel choose this port (widen PORTSAFE_RANGE or run fewer jobs)",
             protocol_name(proto), g_state.job_range.low, g_state.job_range.high,
             full ? "is full (a live socket or a hold on every port)" : "is taken by programs running without portsafe");
  } else {
    log_line(LogLevel::info, "{} range full: letting the kernel choose", protocol_name(proto));
  }
  return passthrough(fd, addr, length);
}

enum class Pick { bound, failed, full, outsiders };

// Claims a port, binds it, and tries the next one when an outsider already has it.
Pick pick_and_bind(int fd, const struct sockaddr* addr, socklen_t length, Protocol proto, int& error,
                   uint32_t& unavailable) noexcept {
  PortTable& table = *g_state.table;
  const PortRange range = g_state.job_range;
  bool reaped = false;
  // Ports an outsider turned us away from stay claimed until this pick ends, so the next pick
  // moves on instead of being handed the same free-looking slot again; then they are let go.
  SlotRef refused[kMaxOutsiderRetries];
  int outsiders = 0;
  const auto let_go_refused = [&] {
    for (int i = 0; i < outsiders; ++i) table.drop(refused[i], g_state.claimant.process);
  };
  while (outsiders < kMaxOutsiderRetries) {
    const PickResult picked = table.pick(proto, range, g_state.claimant);
    const SlotRef& ref = picked.ref;
    if (!ref.valid()) {
      // Every port is live or held: reclaim what dead processes left (the supervisor does so
      // within milliseconds of a death, but it may not run), once, then give up.
      if (!reaped && table.reap(monotonic_ms()) > 0) {
        reaped = true;
        continue;
      }
      unavailable = picked.unavailable + static_cast<uint32_t>(outsiders);
      let_go_refused();
      return outsiders > 0 ? Pick::outsiders : Pick::full;
    }
    const uint16_t port = port_of(ref);
    sockaddr_storage chosen{};
    const socklen_t chosen_length = copy_with_port(addr, length, port, chosen);
    if (real().bind(fd, reinterpret_cast<const sockaddr*>(&chosen), chosen_length) == 0) {
      remember(fd, ref, port);
      let_go_refused();
      g_state.fallbacks_in_a_row.store(0, std::memory_order_relaxed);
      log_line(LogLevel::info, "bind {} port 0 -> picked {}{}", protocol_name(proto), port,
               picked.gave_way ? " (a linger gave way)" : "");
      return Pick::bound;
    }
    error = errno;
    if (error != EADDRINUSE) {
      table.drop(ref, g_state.claimant.process);
      let_go_refused();
      return Pick::failed;
    }
    // Someone outside portsafe has this port: keep it claimed while we try the next.
    log_line(LogLevel::debug, "{} port {} is in use outside portsafe; trying the next", protocol_name(proto), port);
    refused[outsiders++] = ref;
  }
  let_go_refused();
  return Pick::outsiders;
}

int bind_any_port(int fd, const struct sockaddr* addr, socklen_t length, Protocol proto,
                  const std::optional<SocketFacts>& facts, int saved_errno) noexcept {
  // The program asked the kernel to pick at connect() time: that is connect()'s business.
  const bool no_port = facts ? facts->bind_address_no_port
                             : int_option(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT).value_or(0) != 0;
  if (no_port) return passthrough(fd, addr, length);
  // With SO_REUSEADDR the pick could share a port with an outsider's reuse socket; clear it for
  // the pick and give the program its setting back afterwards.
  const bool reuse = facts ? facts->reuse_address : int_option(fd, SOL_SOCKET, SO_REUSEADDR).value_or(0) != 0;
  if (reuse) set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 0);
  int error = 0;
  uint32_t unavailable = 0;
  const Pick pick = pick_and_bind(fd, addr, length, proto, error, unavailable);
  if (reuse) set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  switch (pick) {
    case Pick::bound:
      errno = saved_errno;
      return 0;
    case Pick::failed:
      errno = error;
      return -1;
    case Pick::full:
    case Pick::outsiders:
      break;
  }
  const int rc = fall_back(fd, addr, length, proto, pick == Pick::full, unavailable);
  if (rc == 0) errno = saved_errno;
  return rc;
}

int bind_given_port(int fd, const struct sockaddr* addr, socklen_t length, Protocol proto, uint16_t port,
                    int saved_errno) noexcept {
  PortTable& table = *g_state.table;
  const PortClaim claim = table.claim_port(proto, port, g_state.claimant);
  switch (claim.result) {
    case ClaimResult::claimed: {
      if (real().bind(fd, addr, length) != 0) {
        // A takeover of the job's own linger gives the linger back: the number may still be
        // waiting for its real user, and freeing it would hand it to any other job.
        const int error = errno;
        table.restore_linger(claim, g_state.claimant.process);
        errno = error;
        return -1;
      }
      remember(fd, claim.ref, port);
      log_line(LogLevel::info, "bind {} port {}: claimed for the job", protocol_name(proto), port);
      errno = saved_errno;
      return 0;
    }
    case ClaimResult::own_held:
      // The supervisor's placeholder holds it for this job with SO_REUSEADDR: the program may
      // take it only with SO_REUSEADDR too. The slot stays the supervisor's; nothing to track.
      set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1);
      note_socket_option(fd, SOL_SOCKET, SO_REUSEADDR, &kOn, sizeof kOn);
      log_line(LogLevel::info, "bind {} port {}: held for this job; SO_REUSEADDR set", protocol_name(proto), port);
      return passthrough(fd, addr, length);
    case ClaimResult::other_job:
      log_line(LogLevel::info, "bind {} port {} refused (EADDRINUSE): job '{}' (pid {}) holds it",
               protocol_name(proto), port, static_cast<const char*>(claim.holder.job_name), claim.holder.pid);
      errno = EADDRINUSE;
      return -1;
    case ClaimResult::own_claim:
    case ClaimResult::excluded:
    case ClaimResult::out_of_range:
      break;
  }
  return passthrough(fd, addr, length);
}

}  // namespace

bool in_own_process() noexcept {
  return static_cast<uint32_t>(::getpid()) == g_state.claimant.process.pid;
}

int coordinated_bind(int fd, const struct sockaddr* addr, socklen_t length) noexcept {
  // A vfork child shares our memory but is not us: it must not claim in our name.
  if (!shim_active() || !in_own_process()) return passthrough(fd, addr, length);
  const int saved_errno = errno;
  const auto port = inet_address_port(addr, length);
  if (!port) return passthrough(fd, addr, length);
  // Facts noted at socket()/setsockopt() spare four getsockopt() calls; else ask the kernel.
  const std::optional<SocketFacts> facts = known_socket_facts(fd);
  const auto proto = facts ? facts->proto : inet_socket_protocol(fd);
  if (!proto) return passthrough(fd, addr, length);
  if (*port == 0) return bind_any_port(fd, addr, length, *proto, facts, saved_errno);
  return bind_given_port(fd, addr, length, *proto, *port, saved_errno);
}

}  // namespace portsafe::shim
