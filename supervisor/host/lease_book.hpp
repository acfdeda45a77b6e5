// The host daemon's decisions: who gets which block (the per-account cap), whether another
// account has a port, and which idle blocks go back to the pool. Pure of I/O except the reads
// of accounts' tables (ForeignTable), so the unit tests drive exactly the daemon's rules.
#pragma once

#include <sys/types.h>

#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "portsafe/wire_protocol.hpp"
#include "registry_writer.hpp"
#include "table_reader.hpp"

namespace portsafe::host {

// A refused lease first reclaims what it can (gone tables' blocks), at most this often: a flood
// of refused requests must not turn into back-to-back sweeps that delay other accounts.
inline constexpr int64_t kOnDemandReclaimMs = 100;
// One sweep reads at most this many blocks' tables and runs at most this long; the next sweep
// goes on where it stopped, so a hostile account's slow tables cannot make sweeps slow for all.
inline constexpr uint32_t kScansPerSweep = 64;
inline constexpr int64_t kSweepBudgetMs = 20;

struct LeaseDecision {
  bool granted = false;
  uint32_t block = 0;
  uint32_t generation = 0;
  wire::ErrorCode code = wire::ErrorCode::lease_refused;
  std::string message;  // refusal: one line
};

class LeaseBook {
 public:
  explicit LeaseBook(HostRegistryWriter& registry) : registry_(registry) {}

  // One more block for uid's table (checked: /dev/shm/NAME is uid's private table). Refused when
  // uid already has half of the blocks (always, alone or not), or when no block is free.
  LeaseDecision lease(uid_t uid, const std::string& table_name, int64_t now_ms);
  // True when the account owning PORT's block (another uid, or another table of the asker's)
  // has it claimed, held or lingering. Unreadable tables claim nothing (fail open).
  bool taken_for(uid_t asker, Protocol proto, uint16_t port, int64_t now_ms) const;
  // The sweep: a block leased or last seen in use kReclaimIdleMs ago or more (or whose table is
  // gone) is scanned; idle, it is marked reclaiming, scanned again, and freed (or kept when a
  // claim turned up). Bounded by kScansPerSweep and kSweepBudgetMs. Returns blocks freed.
  size_t reclaim_idle(int64_t now_ms);

  // For tests: the cap an account meets now.
  uint32_t cap_for(uid_t uid, int64_t now_ms) const;
  // For tests: how many blocks' tables the sweeps have scanned.
  uint64_t scans_done() const noexcept { return scans_done_; }
  // For tests: runs after a block was found idle and before it is marked reclaiming (where a
  // pick's claim may land).
  std::function<void(uint32_t block)> before_mark_for_tests;

 private:
  uint32_t blocks_of_uid(uid_t uid) const;
  uint32_t blocks_of_table(uid_t uid, const std::string& table_name) const;
  // Scans one block's owner table: in use, idle, or gone.
  BlockUse scan(const BlockView& block, int64_t now_ms) const;
  // One lstat: true when the block's table name no longer exists (ENOENT).
  bool table_missing(const BlockView& block) const;

  HostRegistryWriter& registry_;
  LeaseDecision try_lease(uid_t uid, const std::string& table_name, int64_t now_ms);

  int64_t last_on_demand_reclaim_ms_ = INT64_MIN / 2;
  uint32_t next_free_hint_ = 0;
  uint32_t sweep_cursor_ = 0;
  uint64_t scans_done_ = 0;
};

}  // namespace portsafe::host
