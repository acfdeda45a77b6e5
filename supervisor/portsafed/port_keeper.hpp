// The ports the supervisor holds for jobs: a table claim (state held, owned by the supervisor)
// plus the placeholder sockets. Each hold belongs to the connection that reserved it, so a
// connection that closes (its client exited or was killed) gives its ports back at once.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "placeholder.hpp"
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
  int64_t since_ms = 0;
  // Non-zero: adopted from a supervisor that died (connection 0); dropped at this time unless its
  // job reserves the same port again first.
  int64_t orphan_until_ms = 0;
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
  PortKeeper(const PortKeeper&) = delete;
  PortKeeper& operator=(const PortKeeper&) = delete;

  // All or nothing: every requested name gets a port, or nothing is held.
  Result<std::vector<wire::PortRequest>> reserve(uint64_t connection, const JobInfo& job,
                                                 const std::vector<wire::PortRequest>& ports);
  // The socket for a held port's consumer (TCP: fresh, SO_REUSEADDR; UDP: the placeholder).
  Result<int> acquire(const wire::Acquire& request, UniqueFd& socket_out);
  Result<bool> release(uint64_t job_id, const wire::PortKey& key);
  Result<bool> annotate(const wire::Annotate& request);
  // Gives back everything a connection held; returns how many ports.
  size_t release_connection(uint64_t connection);
  size_t release_all();

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
  Claimant claimant(const JobInfo& job, const std::string& name) const;
  void forget(HeldPort& port);
  // The adopted hold of key, when it belongs to job (else nullptr).
  HeldPort* orphan_of(const Key& key, const JobInfo& job);
  uint16_t port_of(const SlotRef& ref) const;

  PortTable& table_;
  ProcessIdentity self_;
  std::map<Key, HeldPort> held_;
  std::minstd_rand random_;
};

}  // namespace portsafe::supervisor
