#include "port_keeper.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "portsafe/log.hpp"
#include "portsafe/process_identity.hpp"

namespace portsafe::supervisor {
namespace {

using wire::ErrorCode;

// How many ports a port-0 reservation tries when the kernel says a picked port is taken by
// someone outside portsafe (a process without the shim).
constexpr int kPickAttempts = 32;
// How long a dead supervisor's hold is kept for its job's launcher to reserve it again (it does
// so the moment it sees the supervisor's connection close).
constexpr int64_t kOrphanGraceMs = 10'000;
// A supervisor stopped by a signal leaves its holds for live jobs in the table; one that has not
// quite exited yet still owns them. A re-reservation waits this long (in short steps) for the
// reaper to turn such a hold into the job's linger.
constexpr int kExitingOwnerPolls = 200;
constexpr useconds_t kExitingOwnerPollUs = 5'000;

std::string describe(Protocol proto, uint16_t port) { return fmt::format("{}/{}", port, protocol_name(proto)); }

std::string describe_holder(const SlotView& holder) {
  const std::string job = holder.job_name[0] != '\0' ? fmt::format("job '{}'", holder.job_name)
                                                     : fmt::format("job {}", holder.job_id);
  return fmt::format("{} (pid {}, {})", job, holder.pid, slot_state_name(holder.state));
}

wire::ErrorReply bind_error(Protocol proto, uint16_t port, int error) {
  if (error == EADDRINUSE) {
    return {ErrorCode::port_in_use,
            fmt::format("port {} is in use by a process outside portsafe; choose another or stop that process",
                        describe(proto, port))};
  }
  if (error == EACCES || error == EPERM) {
    return {ErrorCode::bind_failed,
            fmt::format("binding port {} needs privilege: run the supervisor with CAP_NET_BIND_SERVICE or lower "
                        "net.ipv4.ip_unprivileged_port_start",
                        describe(proto, port))};
  }
  return {ErrorCode::bind_failed, fmt::format("cannot bind port {}: {}", describe(proto, port), std::strerror(error))};
}

}  // namespace

PortKeeper::PortKeeper(PortTable& table, ProcessIdentity self)
    : table_(table), self_(self) {}

PortKeeper::~PortKeeper() { release_all(); }

// Slots are laid out per protocol, one per port of the range.
uint16_t PortKeeper::port_of(const SlotRef& ref) const {
  return static_cast<uint16_t>(table_.range().low + ref.index % table_.range().size());
}

Claimant PortKeeper::claimant(const JobInfo& job, const std::string& name) const {
  Claimant who;
  who.process = self_;
  who.job_id = job.id;
  who.job_name = job.name.c_str();
  who.label = name.c_str();
  return who;
}

void PortKeeper::forget(HeldPort& port) {
  port.sockets = Placeholders{};
  if (port.ref.valid()) table_.drop(port.ref, self_);
  port.ref = SlotRef{};
}

std::optional<Result<HeldPort>> PortKeeper::refuse_held_twice(const wire::PortRequest& request) const {
  const auto it = held_.find(Key{request.proto, request.port});
  if (it == held_.end()) return std::nullopt;
  return Result<HeldPort>::fail(ErrorCode::port_in_use,
                                fmt::format("port {} is already held by job '{}' as '{}'",
                                            describe(request.proto, request.port), it->second.job.name, it->second.name));
}

// Why the table would not let a job hold the port (claim.result is anything but claimed).
Result<HeldPort> PortKeeper::refusal(const wire::PortRequest& request, const PortClaim& claim) {
  if (claim.result == ClaimResult::excluded) {
    return Result<HeldPort>::fail(ErrorCode::port_in_use,
                                  fmt::format("port {} is listed in net.ipv4.ip_local_reserved_ports; choose another",
                                              describe(request.proto, request.port)));
  }
  return Result<HeldPort>::fail(ErrorCode::port_in_use, fmt::format("port {} is taken by {}",
                                                                    describe(request.proto, request.port),
                                                                    describe_holder(claim.holder)));
}

Result<HeldPort> PortKeeper::hold_given(const JobInfo& job, const wire::PortRequest& request) {
  if (auto refused = refuse_held_twice(request)) return std::move(*refused);
  if (host_ != nullptr && host_->taken_by_other_account(request.proto, request.port)) {
    return Result<HeldPort>::fail(ErrorCode::port_in_use, fmt::format("port {} is taken by a job of another account",
                                                                      describe(request.proto, request.port)));
  }
  HeldPort held;
  PortClaim claim;
  if (table_.index_of(request.proto, request.port)) {
    claim = table_.claim_port(request.proto, request.port, claimant(job, request.name), SlotState::held);
    if (claim.result != ClaimResult::claimed) return refusal(request, claim);
    held.ref = claim.ref;
  }
  if (const int error = bind_placeholders(request.proto, request.port, held.sockets); error != 0) {
    give_back(claim, held);
    Result<HeldPort> r;
    r.error = bind_error(request.proto, request.port, error);
    return r;
  }
  Result<HeldPort> r;
  r.value = std::move(held);
  return r;
}

void PortKeeper::give_back(const PortClaim& claim, HeldPort& held) {
  held.sockets = Placeholders{};
  // A linger of the job's that the claim took over stays the job's (deadline unchanged): freeing
  // it would let another job be given a number the job may still use.
  if (claim.took_over_linger) {
    table_.restore_linger(claim, self_);
    held.ref = SlotRef{};
    return;
  }
  forget(held);
}

Result<HeldPort> PortKeeper::hold_again(const JobInfo& job, const wire::PortRequest& request) {
  if (auto refused = refuse_held_twice(request)) return std::move(*refused);
  HeldPort held;
  PortClaim claim;
  if (table_.index_of(request.proto, request.port)) {
    for (int poll = 0; poll < kExitingOwnerPolls; ++poll) {
      claim = table_.claim_port(request.proto, request.port, claimant(job, request.name), SlotState::held);
      // Still held by the job's previous supervisor, which is exiting: once it is gone the
      // reaper makes the hold a linger of the job's, which the claim then takes over.
      const bool previous_supervisor = claim.result == ClaimResult::own_held && claim.holder.pid != self_.pid;
      if (!previous_supervisor) break;
      ::usleep(kExitingOwnerPollUs);
    }
    if (claim.result != ClaimResult::claimed) return refusal(request, claim);
    held.ref = claim.ref;
  }
  // Never SO_REUSEADDR before bind: a UDP placeholder bound beside the job's own server would take
  // its datagrams (newest wins), and a TCP one would fail and lose the hold.
  const int error = bind_placeholders_exclusively(request.proto, request.port, held.sockets);
  if (error == EADDRINUSE) {
    held.sockets = Placeholders{};
    log_info("{} is in use (the job's own server, presumably): held in the table; its placeholders follow once "
             "the port is unused",
             describe(request.proto, request.port));
  } else if (error != 0) {
    give_back(claim, held);
    Result<HeldPort> r;
    r.error = bind_error(request.proto, request.port, error);
    return r;
  }
  held.reheld = true;
  Result<HeldPort> r;
  r.value = std::move(held);
  return r;
}

SlotRef PortKeeper::pick_for(const JobInfo& job, const wire::PortRequest& request) {
  const Claimant who = claimant(job, request.name);
  if (host_ == nullptr) return table_.pick(request.proto, table_.range(), who, SlotState::held).ref;
  if (const SlotRef ref = host_->pick(table_, request.proto, who, SlotState::held).ref; ref.valid()) return ref;
  // No block of ours has room and none more is leased: a held port is still better than a failed
  // job. The whole range, skipping what another account has (when the host daemon answers).
  for (int attempt = 0; attempt < kPickAttempts; ++attempt) {
    const SlotRef ref = table_.pick(request.proto, table_.range(), who, SlotState::held).ref;
    if (!ref.valid() || !host_->taken_by_other_account(request.proto, port_of(ref))) return ref;
    table_.drop(ref, self_);
  }
  return {};
}

Result<HeldPort> PortKeeper::hold_any(const JobInfo& job, const wire::PortRequest& request) {
  // Ports the kernel refused stay claimed until we are done, so the scan does not find them again.
  std::vector<SlotRef> refused;
  Result<HeldPort> result;
  for (int attempt = 0; attempt < kPickAttempts; ++attempt) {
    // The shim's pick rules: round robin, and a range full of lingers gives its oldest away
    // rather than refusing the job a held port (issue 13).
    const SlotRef ref = pick_for(job, request);
    if (!ref.valid()) {
      table_.count_full_range();
      result = Result<HeldPort>::fail(
          ErrorCode::range_full,
          fmt::format("no free {} port left in {}; wait for jobs to end, run `portsafe gc`, or widen PORTSAFE_RANGE",
                      protocol_name(request.proto), format_range(table_.range())));
      break;
    }
    const uint16_t port = port_of(ref);
    HeldPort held;
    held.ref = ref;
    const int error = bind_placeholders(request.proto, port, held.sockets);
    if (error == 0) {
      result.value = std::move(held);
      break;
    }
    if (error != EADDRINUSE) {
      refused.push_back(ref);
      result.error = bind_error(request.proto, port, error);
      break;
    }
    log_debug("port {} is used outside portsafe; trying another", describe(request.proto, port));
    refused.push_back(ref);
  }
  if (!result.error && !result.value.ref.valid()) {
    result = Result<HeldPort>::fail(ErrorCode::range_full,
                                    fmt::format("{} ports picked in {} were all in use outside portsafe", kPickAttempts,
                                                format_range(table_.range())));
  }
  for (const SlotRef& ref : refused) table_.drop(ref, self_);
  return result;
}

Result<std::vector<wire::PortRequest>> PortKeeper::reserve(uint64_t connection, const JobInfo& job,
                                                           const std::vector<wire::PortRequest>& ports, bool rehold) {
  using R = Result<std::vector<wire::PortRequest>>;
  std::set<std::string> names;
  for (const auto& p : ports) {
    if (rehold && p.port == 0) {
      return R::fail(ErrorCode::bad_payload,
                     fmt::format("port name '{}': holding a port again needs its number (port 0 given)", p.name));
    }
    if (!names.insert(p.name + "/" + protocol_name(p.proto)).second) {
      return R::fail(ErrorCode::bad_payload, fmt::format("port name '{}' appears twice in one reservation", p.name));
    }
  }
  std::vector<Key> made;
  std::vector<Key> adopted;
  R result;
  for (const auto& request : ports) {
    if (HeldPort* orphan = request.port != 0 ? orphan_of(Key{request.proto, request.port}, job) : nullptr) {
      // The job holds this port again after its supervisor died: the hold becomes this connection's.
      orphan->connection = connection;
      orphan->orphan_until_ms = 0;
      orphan->name = request.name;
      orphan->reheld = true;
      adopted.push_back(Key{request.proto, request.port});
      result.value.push_back(request);
      continue;
    }
    Result<HeldPort> one = rehold ? hold_again(job, request)
                           : request.port != 0 ? hold_given(job, request)
                                               : hold_any(job, request);
    if (one.error) {
      for (const Key& key : made) {
        forget(held_.at(key));
        held_.erase(key);
      }
      const int64_t until = monotonic_ms() + kOrphanGraceMs;
      for (const Key& key : adopted) {
        held_.at(key).connection = 0;
        held_.at(key).orphan_until_ms = until;
      }
      result.error = one.error;
      result.value.clear();
      return result;
    }
    HeldPort& held = one.value;
    const uint16_t port = request.port != 0 ? request.port : port_of(held.ref);
    held.connection = connection;
    held.job = job;
    held.name = request.name;
    held.label = request.name;
    held.since_ms = monotonic_ms();
    held_.emplace(Key{request.proto, port}, std::move(held));
    made.push_back(Key{request.proto, port});
    result.value.push_back(wire::PortRequest{request.name, request.proto, port});
  }
  return result;
}

Result<int> PortKeeper::acquire(const wire::Acquire& request, UniqueFd& socket_out) {
  const auto it = held_.find(Key{request.proto, request.port});
  if (it == held_.end()) {
    return Result<int>::fail(ErrorCode::not_held,
                             fmt::format("port {} is not held by any job; reserve it first (portsafe-run --port NAME)",
                                         describe(request.proto, request.port)));
  }
  SocketAddress address;
  if (!parse_bind_address(request.bind_address, request.port, address)) {
    return Result<int>::fail(ErrorCode::bad_payload,
                             fmt::format("bind address '{}' is not a numeric IPv4 or IPv6 address", request.bind_address));
  }
  HeldPort& held = it->second;
  if (request.proto == Protocol::udp && is_wildcard(address)) {
    // The UDP placeholder itself: a second wildcard socket would split the datagrams.
    const UniqueFd& placeholder = address.family == AF_INET6 ? held.sockets.v6 : held.sockets.v4;
    if (!held.sockets.v4) {
      return Result<int>::fail(ErrorCode::port_in_use,
                               fmt::format("port {} is held again while a socket of its job uses it; stop that socket "
                                           "first (its placeholder follows within a second)",
                                           describe(request.proto, request.port)));
    }
    if (!placeholder) {
      return Result<int>::fail(ErrorCode::bind_failed,
                               fmt::format("port {} has no IPv6 placeholder on this host", describe(request.proto, request.port)));
    }
    drain_datagrams(placeholder.get());
    UniqueFd copy(::fcntl(placeholder.get(), F_DUPFD_CLOEXEC, 0));
    if (!copy) return Result<int>::fail(ErrorCode::internal, fmt::format("dup failed: {}", std::strerror(errno)));
    socket_out = std::move(copy);
    return {};
  }
  const bool keep_listening = request.proto == Protocol::tcp && request.listen;
  if (const int error = keep_listening ? held.listeners.copy_for(address, held.sockets, socket_out)
                                       : bind_consumer(request.proto, address, request.listen, socket_out);
      error != 0) {
    Result<int> r;
    r.error = bind_error(request.proto, request.port, error);
    return r;
  }
  return {};
}

Result<bool> PortKeeper::release(uint64_t job_id, const wire::PortKey& key) {
  const auto it = held_.find(Key{key.proto, key.port});
  if (it == held_.end() || it->second.job.id != job_id) {
    return Result<bool>::fail(ErrorCode::not_held,
                              fmt::format("port {} is not held by this job", describe(key.proto, key.port)));
  }
  forget(it->second);
  held_.erase(it);
  return {true, std::nullopt};
}

Result<bool> PortKeeper::annotate(const wire::Annotate& request) {
  const auto it = held_.find(Key{request.proto, request.port});
  if (it == held_.end()) {
    return Result<bool>::fail(ErrorCode::not_held,
                              fmt::format("port {} is not held by any job", describe(request.proto, request.port)));
  }
  HeldPort& held = it->second;
  held.label = request.label;
  if (held.ref.valid() && !table_.set_label(held.ref, self_, request.label.c_str())) {
    return Result<bool>::fail(ErrorCode::table_error, "the port table no longer shows this hold; run `portsafe doctor`");
  }
  return {true, std::nullopt};
}

size_t PortKeeper::release_connection(uint64_t connection) {
  size_t count = 0;
  const int64_t now = monotonic_ms();
  for (auto it = held_.begin(); it != held_.end();) {
    HeldPort& held = it->second;
    if (held.connection == connection && held.reheld && is_process_alive(unpack_identity(held.job.id))) {
      // The job's launcher lost this connection while reconnecting (another supervisor restart, a
      // timed-out attempt): the job lives, so its next attempt may still take the hold over.
      held.connection = 0;
      held.orphan_until_ms = now + kOrphanGraceMs;
      log_info("kept {} for job '{}' for {} s more: its launcher may reconnect", describe(it->first.first, it->first.second),
               held.job.name, kOrphanGraceMs / 1000);
      ++it;
      continue;
    }
    if (held.connection == connection) {
      forget(it->second);
      it = held_.erase(it);
      ++count;
    } else {
      ++it;
    }
  }
  return count;
}

size_t PortKeeper::release_all() {
  const size_t count = held_.size();
  for (auto& [key, held] : held_) forget(held);
  held_.clear();
  return count;
}

size_t PortKeeper::leave_for_successor() {
  size_t left = 0;
  for (auto& [key, held] : held_) {
    held.sockets = Placeholders{};
    if (held.ref.valid() && held.job.id != 0 && is_process_alive(unpack_identity(held.job.id))) {
      held.ref = SlotRef{};  // stays held in the table, owned by this (exiting) process
      ++left;
      continue;
    }
    forget(held);
  }
  held_.clear();
  return left;
}

HeldPort* PortKeeper::orphan_of(const Key& key, const JobInfo& job) {
  const auto it = held_.find(key);
  if (it == held_.end() || it->second.orphan_until_ms == 0 || it->second.job.id != job.id) return nullptr;
  return &it->second;
}

size_t PortKeeper::adopt_orphans() {
  size_t adopted = 0;
  const int64_t now = monotonic_ms();
  for (const SlotView& view : table_.list()) {
    if (view.state != SlotState::held || view.job_id == 0 || is_process_alive(view.owner)) continue;
    if (!is_process_alive(unpack_identity(view.job_id))) continue;  // the job is over: reaping frees it
    const std::string job_name(view.job_name, ::strnlen(view.job_name, sizeof view.job_name));
    const std::string label(view.label, ::strnlen(view.label, sizeof view.label));
    HeldPort held;
    held.job = JobInfo{view.job_id, job_name};
    held.name = label;
    held.label = label;
    const PortClaim claim =
        table_.claim_port(view.proto, view.port, claimant(held.job, held.label), SlotState::held);
    if (claim.result != ClaimResult::claimed) continue;
    held.ref = claim.ref;
    // Best effort: while the job's server has the port, the table claim alone keeps other jobs off.
    if (bind_placeholders_exclusively(view.proto, view.port, held.sockets) != 0) held.sockets = Placeholders{};
    held.since_ms = now;
    held.orphan_until_ms = now + kOrphanGraceMs;
    held.reheld = true;
    log_info("held {} again for job '{}' as '{}' (its supervisor died)", describe(view.proto, view.port), job_name,
             label);
    held_.insert_or_assign(Key{view.proto, view.port}, std::move(held));
    ++adopted;
  }
  return adopted;
}

void PortKeeper::tend_orphans(int64_t now_ms) {
  for (auto it = held_.begin(); it != held_.end();) {
    HeldPort& held = it->second;
    const bool expired = held.orphan_until_ms != 0 &&
                         (now_ms >= held.orphan_until_ms || !is_process_alive(unpack_identity(held.job.id)));
    if (expired) {
      log_info("job '{}' did not hold {} again; released", held.job.name, describe(it->first.first, it->first.second));
      forget(held);
      it = held_.erase(it);
      continue;
    }
    if (!held.sockets.v4 && (held.ref.valid() || held.reheld)) {
      // Re-held while the job's server had the port: placeholders once the port is unused.
      if (bind_placeholders_exclusively(it->first.first, it->first.second, held.sockets) != 0) {
        held.sockets = Placeholders{};
      }
    }
    ++it;
  }
}

std::vector<wire::StatusEntry> PortKeeper::untracked_entries(int64_t now_ms) const {
  std::vector<wire::StatusEntry> entries;
  for (const auto& [key, held] : held_) {
    if (held.ref.valid()) continue;
    wire::StatusEntry e;
    e.port = key.second;
    e.proto = key.first;
    e.state = SlotState::held;
    e.job_id = held.job.id;
    e.job_name = held.job.name;
    e.pid = self_.pid;
    e.label = held.label;
    e.age_ms = static_cast<uint64_t>(std::max<int64_t>(0, now_ms - held.since_ms));
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace portsafe::supervisor
