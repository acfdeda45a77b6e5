#include "portsafe/bind_rules.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "portsafe/host_leases.hpp"
#include "portsafe/virtual_ports.hpp"

namespace portsafe {
namespace {

// How many ports an outsider (a process without portsafe) may turn us away from in one pick
// before we stop trying and let the kernel choose.
constexpr int kMaxOutsiderRetries = 64;

uint16_t port_of(const PortTable& table, const SlotRef& ref) noexcept {
  const PortRange range = table.range();
  return static_cast<uint16_t>(range.low + ref.index % range.size());
}

// Every port of the range has a live socket or a hold (or outsiders hold every port we tried):
// the kernel chooses, and the table counts it, and how many ports the job would have needed, so
// `portsafe status` and `portsafe doctor` can show it.
int fall_back(const BindScope& scope, const BindRequest& request, BindSite& site, bool full,
              uint32_t unavailable, bool host_limited) noexcept {
  // The ports taken for good, plus one for each pick of this picker that fell back in a row (a
  // lower bound: one picker cannot see the others' fallbacks).
  const uint32_t short_by =
      scope.fallbacks_in_a_row != nullptr ? scope.fallbacks_in_a_row->fetch_add(1, std::memory_order_relaxed) + 1 : 1;
  if (full) {
    scope.table.count_full_range();
    scope.table.note_ports_needed(uint64_t{unavailable} + short_by, scope.claimant.job_name);
  }
  scope.table.count_fallback();
  BindNote note;
  note.event = full ? (host_limited ? BindEvent::fallback_host : BindEvent::fallback_full) : BindEvent::fallback_outsiders;
  note.proto = request.proto;
  note.range = scope.job_range;
  site.note(note);
  return site.bind(request.addr, request.length);
}

enum class Pick { bound, failed, full, outsiders };

BindNote note_of(BindEvent event, Protocol proto, uint16_t port, const SlotView* holder) noexcept {
  BindNote note;
  note.event = event;
  note.proto = proto;
  note.port = port;
  note.holder = holder;
  return note;
}

// Claims a port (PortTable::pick: round robin, a crowded range's oldest linger gives way), binds
// it, and tries the next one when an outsider already has it.
Pick pick_and_bind(const BindScope& scope, const BindRequest& request, BindSite& site, int& error,
                   uint32_t& unavailable, bool& host_limited) noexcept {
  PortTable& table = scope.table;
  bool reaped = false;
  // Ports an outsider turned us away from stay claimed until this pick ends, so the next pick
  // moves on instead of being handed the same free-looking slot again; then they are let go.
  SlotRef refused[kMaxOutsiderRetries];
  int outsiders = 0;
  const auto let_go_refused = [&] {
    for (int i = 0; i < outsiders; ++i) table.drop(refused[i], scope.claimant.process);
  };
  while (outsiders < kMaxOutsiderRetries) {
    // Host-wide coordination confines the pick to the blocks leased to this account (and leases
    // more); a job's own narrower range opts out, as a custom PORTSAFE_RANGE does.
    const PickResult picked = scope.host != nullptr && scope.job_range == table.range()
                                  ? scope.host->pick(table, request.proto, scope.claimant)
                                  : table.pick(request.proto, scope.job_range, scope.claimant);
    const SlotRef& ref = picked.ref;
    if (!ref.valid()) {
      // Every port is live or held: reclaim what dead processes and gone sockets left (the
      // supervisor does so within milliseconds of a death, but it may not run), once, then give up.
      if (!reaped) {
        reaped = true;
        const bool released = site.release_gone_claims();
        if (table.reap(monotonic_ms()) > 0 || released) continue;
      }
      unavailable = picked.unavailable + static_cast<uint32_t>(outsiders);
      host_limited = picked.host_limited;
      let_go_refused();
      return outsiders > 0 ? Pick::outsiders : Pick::full;
    }
    const uint16_t port = port_of(table, ref);
    sockaddr_storage chosen{};
    const socklen_t chosen_length = copy_with_port(request.addr, request.length, port, chosen);
    error = site.bind(reinterpret_cast<const sockaddr*>(&chosen), chosen_length);
    if (error == 0) {
      site.remember(ref, port);
      let_go_refused();
      if (scope.fallbacks_in_a_row != nullptr) scope.fallbacks_in_a_row->store(0, std::memory_order_relaxed);
      BindNote note = note_of(BindEvent::picked, request.proto, port, nullptr);
      note.gave_way = picked.gave_way;
      site.note(note);
      return Pick::bound;
    }
    if (error != EADDRINUSE) {
      table.drop(ref, scope.claimant.process);
      let_go_refused();
      return Pick::failed;
    }
    // Someone outside portsafe has this port: keep it claimed while we try the next.
    site.note(note_of(BindEvent::outsider_skipped, request.proto, port, nullptr));
    refused[outsiders++] = ref;
  }
  let_go_refused();
  return Pick::outsiders;
}

int bind_any_port(const BindScope& scope, const BindRequest& request, BindSite& site) noexcept {
  // The program asked the kernel to pick at connect() time: that is connect()'s business.
  const bool no_port = request.bind_address_no_port
                           ? *request.bind_address_no_port
                           : site.int_option(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT).value_or(0) != 0;
  if (no_port) return site.bind(request.addr, request.length);
  // With SO_REUSEADDR the pick could share a port with an outsider's reuse socket; clear it for
  // the pick and give the program its setting back afterwards.
  const bool reuse = request.reuse_address ? *request.reuse_address
                                           : site.int_option(SOL_SOCKET, SO_REUSEADDR).value_or(0) != 0;
  if (reuse) site.set_int_option(SOL_SOCKET, SO_REUSEADDR, 0);
  int error = 0;
  uint32_t unavailable = 0;
  bool host_limited = false;
  const Pick pick = pick_and_bind(scope, request, site, error, unavailable, host_limited);
  if (reuse) site.set_int_option(SOL_SOCKET, SO_REUSEADDR, 1);
  switch (pick) {
    case Pick::bound:
      return 0;
    case Pick::failed:
      return error;
    case Pick::full:
    case Pick::outsiders:
      break;
  }
  return fall_back(scope, request, site, pick == Pick::full, unavailable, host_limited);
}

int bind_given_port(const BindScope& scope, const BindRequest& request, BindSite& site) noexcept {
  PortTable& table = scope.table;
  // A virtual port of a bpf-mode job: the kernel binds the job's held real port instead, so the
  // number itself is nobody's to claim (BindScope::kernel_virtual).
  if (scope.kernel_virtual != nullptr && table.range().contains(request.port) &&
      scope.kernel_virtual->real_port(request.proto, request.port).has_value()) {
    return site.bind(request.addr, request.length);
  }
  // A port in another account's block: only the host daemon can read that account's table. Its
  // claim, hold or linger refuses the bind as another job's would; no answer lets it pass.
  if (scope.host != nullptr && scope.host->taken_by_other_account(request.proto, request.port)) {
    site.note(note_of(BindEvent::other_account, request.proto, request.port, nullptr));
    return EADDRINUSE;
  }
  const PortClaim claim = table.claim_port(request.proto, request.port, scope.claimant);
  switch (claim.result) {
    case ClaimResult::claimed: {
      const int error = site.bind(request.addr, request.length);
      if (error != 0) {
        // A takeover of the job's own linger gives the linger back: the number may still be
        // waiting for its real user, and freeing it would hand it to any other job.
        table.restore_linger(claim, scope.claimant.process);
        return error;
      }
      site.remember(claim.ref, request.port);
      site.note(note_of(BindEvent::claimed, request.proto, request.port, nullptr));
      return 0;
    }
    case ClaimResult::own_held:
      // The supervisor's placeholder holds it for this job with SO_REUSEADDR: the program may
      // take it only with SO_REUSEADDR too. The slot stays the supervisor's; nothing to track.
      site.set_int_option(SOL_SOCKET, SO_REUSEADDR, 1);
      site.note(note_of(BindEvent::own_held, request.proto, request.port, nullptr));
      return site.bind(request.addr, request.length);
    case ClaimResult::other_job:
      site.note(note_of(BindEvent::other_job, request.proto, request.port, &claim.holder));
      return EADDRINUSE;
    case ClaimResult::own_claim:
    case ClaimResult::excluded:
    case ClaimResult::out_of_range:
      break;
  }
  return site.bind(request.addr, request.length);
}

}  // namespace

std::optional<uint16_t> inet_address_port(const struct sockaddr* addr, socklen_t length) noexcept {
  if (addr == nullptr) return std::nullopt;
  if (addr->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(addr)->sin_port);
  }
  if (addr->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(addr)->sin6_port);
  }
  return std::nullopt;
}

bool fits_address_copy(socklen_t length) noexcept { return length <= sizeof(struct sockaddr_storage); }

socklen_t copy_with_port(const struct sockaddr* addr, socklen_t length, uint16_t port,
                         struct sockaddr_storage& out) noexcept {
  const socklen_t copied = length < sizeof out ? length : static_cast<socklen_t>(sizeof out);
  std::memcpy(&out, addr, copied);
  if (out.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&out)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&out)->sin6_port = htons(port);
  }
  return copied;
}

std::optional<Protocol> inet_protocol(int type, int protocol) noexcept {
  if (type == SOCK_STREAM && protocol == IPPROTO_TCP) return Protocol::tcp;
  if (type == SOCK_DGRAM && protocol == IPPROTO_UDP) return Protocol::udp;
  return std::nullopt;
}

int coordinated_inet_bind(const BindScope& scope, const BindRequest& request, BindSite& site) noexcept {
  // The kernel refuses a longer address (EINVAL); a pick's copy would shorten it and succeed.
  if (!fits_address_copy(request.length)) return site.bind(request.addr, request.length);
  if (request.port == 0) return bind_any_port(scope, request, site);
  return bind_given_port(scope, request, site);
}

}  // namespace portsafe
