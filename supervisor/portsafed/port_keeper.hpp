// The ports the supervisor holds for jobs: a table claim (state held, owned by the supervisor)
// plus the placeholder sockets. Each hold belongs to the connection that reserved it, so a
// connection that closes (its client exited or was killed) gives its ports back at once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "handover_listeners.hpp"
#include "placeholder.hpp"
#include "portsafe/host_leases.hpp"
#include "portsafe/port_table.hpp"
#include "portsafe/wire_protocol.hpp"

namespace portsafe::supervisor {

struct JobInfo {
  uint64_t id = 0;
  std::string name;
};

struct HeldPort {
  uint64_t connection = 0;
  JobInfo job;
  std::string name;
  std::string label;
  SlotRef ref;  // invalid for ports outside the table's range (e.g. privileged ports)
  Placeholders sockets;
  // TCP listeners kept once the port was handed over listening (see handover_listeners.hpp).
  HandoverListeners listeners;
  int64_t since_ms = 0;
  // Non-zero: adopted from a supervisor that died (connection 0); dropped at this time unless its
  // job reserves the same port again first.
  int64_t orphan_until_ms = 0;
  // Held again for a job whose supervisor went away (adopted, or re-reserved with rehold): when
  // its connection closes while the job's leader lives, it becomes an orphan again (a new grace
  // period) instead of being dropped, so a failed reconnect attempt does not throw it away.
  bool reheld = false;
};

// A value or the error reply that explains why not.
template <typename T>
struct Result {
  T value{};
  std::optional<wire::ErrorReply> error;
  static Result fail(wire::ErrorCode code, std::string message) {
    Result r;
    r.error = wire::ErrorReply{code, std::move(message)};
    return r;
  }
};

class PortKeeper {
 public:
  PortKeeper(PortTable& table, ProcessIdentity self);
  ~PortKeeper();
  // Host-wide coordination (issue 16): picks in the account's leased blocks, given ports checked
  // against other accounts'. Null (the default): per account.
  void set_host(HostLeases* host) noexcept { host_ = host; }
  PortKeeper(const PortKeeper&) = delete;
  PortKeeper& operator=(const PortKeeper&) = delete;

  // All or nothing: every requested name gets a port, or nothing is held.
  // rehold: the given ports are the job's own, held again after its supervisor went away (its
  // server may serve them): see hold_again.
  Result<std::vector<wire::PortRequest>> reserve(uint64_t connection, const JobInfo& job,
                                                 const std::vector<wire::PortRequest>& ports, bool rehold = false);
  // The socket for a held port's consumer (TCP: fresh, SO_REUSEADDR; UDP: the placeholder).
  Result<int> acquire(const wire::Acquire& request, UniqueFd& socket_out);
  Result<bool> release(uint64_t job_id, const wire::PortKey& key);
  Result<bool> annotate(const wire::Annotate& request);
  // Gives back everything a connection held; returns how many ports.
  size_t release_connection(uint64_t connection);
  size_t release_all();
  // Stopping on a signal: holds whose job leader lives stay in the table as they are (the
  // placeholders close with us), so the reaper turns each into a linger for its job and the next
  // supervisor adopts it or the job's launcher holds it again; the rest are released. Returns
  // how many were left.
  size_t leave_for_successor();

  // A killed supervisor leaves held slots whose owner is dead. For each whose job's leader still
  // runs, hold it again (table claim, plus placeholders where no socket uses the port: the job's
  // server may already serve it) so no other job is given it, until the job's launcher reserves
  // the same port again. Called before the first client is served; returns how many.
  size_t adopt_orphans();
  // Each sweep: drops adopted holds whose job did not come back in time (or whose leader ended),
  // and binds the placeholders of re-held ports whose server has let go of the port.
  void tend_orphans(int64_t now_ms);

  bool empty() const noexcept { return held_.empty(); }
  size_t size() const noexcept { return held_.size(); }
  // Held ports the table cannot show (outside its range), as status entries.
  std::vector<wire::StatusEntry> untracked_entries(int64_t now_ms) const;

 private:
  using Key = std::pair<Protocol, uint16_t>;
  Result<HeldPort> hold_given(const JobInfo& job, const wire::PortRequest& request);
  Result<HeldPort> hold_any(const JobInfo& job, const wire::PortRequest& request);
  // A given port held again for its job: the table claim takes over the job's linger (waiting
  // briefly for an exiting supervisor's hold to become one), placeholders are bound only where no
  // socket uses the port (else a table-only hold, its placeholders retried each sweep).
  Result<HeldPort> hold_again(const JobInfo& job, const wire::PortRequest& request);
  // A bind failed after claim: gives a taken-over linger back to the job, else drops the claim.
  void give_back(const PortClaim& claim, HeldPort& held);
  // A refusal when this supervisor holds the port already (for any job), else nothing.
  std::optional<Result<HeldPort>> refuse_held_twice(const wire::PortRequest& request) const;
  static Result<HeldPort> refusal(const wire::PortRequest& request, const PortClaim& claim);
  Claimant claimant(const JobInfo& job, const std::string& name) const;
  void forget(HeldPort& port);
  // The adopted hold of key, when it belongs to job (else nullptr).
  HeldPort* orphan_of(const Key& key, const JobInfo& job);
  uint16_t port_of(const SlotRef& ref) const;

  // A port-0 hold's pick: the account's blocks first (host coordination), else the whole range.
  SlotRef pick_for(const JobInfo& job, const wire::PortRequest& request);

  PortTable& table_;
  ProcessIdentity self_;
  HostLeases* host_ = nullptr;
  std::map<Key, HeldPort> held_;
};

}  // namespace portsafe::supervisor
