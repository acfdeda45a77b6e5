#include "intercept/claim_tracker.hpp"

#include <algorithm>
#include <unordered_set>

#include "portsafe/log.hpp"

namespace portsafe::intercept {
namespace {

PortRange span_of(const std::vector<TrackedClaim>& claims, Protocol proto) {
  PortRange span{UINT16_MAX, 0};
  for (const TrackedClaim& claim : claims) {
    if (claim.proto != proto) continue;
    span.low = std::min(span.low, claim.port);
    span.high = std::max(span.high, claim.port);
  }
  return span;
}

}  // namespace

ClaimTracker::ClaimTracker(PortTable& table, ProcessIdentity owner) : table_(table), owner_(owner) {
  if (!census_.valid()) {
    log_warn("warning: seccomp tier cannot read the kernel's socket table (NETLINK_SOCK_DIAG); "
             "its claims end only when the job ends");
  }
}

// Asked once, the first time TCP claims are looked at, not at start-up: any TCP dump walks the
// kernel's TCP hash tables (about 1 ms here), and most jobs never make a TCP claim through the
// seccomp tier.
bool ClaimTracker::census_sees_bound_tcp() {
  if (!census_sees_bound_tcp_) {
    census_sees_bound_tcp_ = census_.sees_bound_tcp_sockets();
    if (!*census_sees_bound_tcp_) {
      log_info("this kernel does not list bound TCP sockets (before 6.8); seccomp TCP claims end with the job");
    }
  }
  return *census_sees_bound_tcp_;
}

void ClaimTracker::add(const TrackedClaim& claim) { claims_.push_back(claim); }

void ClaimTracker::release(const TrackedClaim& claim) {
  if (table_.release(claim.ref, owner_, monotonic_ms())) {
    log_debug("seccomp: released {} port {} ({})", protocol_name(claim.proto), claim.port,
              claim.used ? "used: free again" : "never used: lingers for the job");
  }
}

size_t ClaimTracker::sweep() {
  if (claims_.empty() || !census_.valid()) return 0;
  size_t released = 0;
  for (const Protocol proto : {Protocol::tcp, Protocol::udp}) {
    const PortRange span = span_of(claims_, proto);
    if (span.low > span.high) continue;
    // Before 6.8 a bound TCP socket is invisible: absence would prove nothing.
    if (proto == Protocol::tcp && !census_sees_bound_tcp()) continue;
    const auto listed = census_.list(proto, span);
    if (!listed) continue;
    std::unordered_set<uint16_t> busy_ports;  // a live socket is bound there
    std::unordered_set<uint16_t> used_ports;
    const auto count_in = [&](const std::vector<CensusEntry>& entries) {
      for (const CensusEntry& entry : entries) {
        if (entry.inode != 0) busy_ports.insert(entry.port);
        if (shows_use(entry, proto)) used_ports.insert(entry.port);
      }
    };
    count_in(*listed);
    // One dump walks the kernel's listening, bound and connected sockets in turn: a socket that
    // moves between them meanwhile (listen() right after its answered bind) is in none. A port
    // looks free only when a second dump agrees.
    const bool any_missing = std::any_of(claims_.begin(), claims_.end(), [&](const TrackedClaim& claim) {
      return claim.proto == proto && busy_ports.count(claim.port) == 0;
    });
    if (any_missing) {
      const auto again = census_.list(proto, span);
      if (!again) continue;
      count_in(*again);
    }
    std::vector<TrackedClaim> kept;
    kept.reserve(claims_.size());
    for (TrackedClaim& claim : claims_) {
      if (claim.proto != proto) {
        kept.push_back(claim);
        continue;
      }
      if (!claim.used && used_ports.count(claim.port) > 0) {
        claim.used = true;
        table_.mark_used(claim.ref);  // in the table at once: it outlives us if we die
      }
      if (busy_ports.count(claim.port) > 0) {
        kept.push_back(claim);
      } else {
        release(claim);
        ++released;
      }
    }
    claims_ = std::move(kept);
  }
  return released;
}

void ClaimTracker::release_all() {
  sweep();  // a last look, so a socket that carried traffic since the previous one frees its port
  for (const TrackedClaim& claim : claims_) release(claim);
  claims_.clear();
}

}  // namespace portsafe::intercept
