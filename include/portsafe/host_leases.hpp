// The account's side of host-wide coordination (issue 16): picks confined to the blocks the
// host registry leases to this uid and table, one more block leased when they are full, and the
// host daemon asked about a fixed port in another account's block. Shared by every tier through
// bind_rules (shim, seccomp handler) and by portsafed's reserve: the claim rules stay in the core.
// Allocation-free after attach(): it runs inside the shim's bind().
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "portsafe/host_client.hpp"
#include "portsafe/host_registry.hpp"
#include "portsafe/port_table.hpp"

namespace portsafe {

// Tests only: called inside pick() after the account's blocks were read (before the claim) and
// after the claim (before the block's re-check), so a test can reclaim a block exactly there.
struct PickHooks {
  void (*after_snapshot)(void* context) = nullptr;
  void (*before_recheck)(void* context) = nullptr;
  void* context = nullptr;
};

class HostLeases;
struct HostLeasesOpen {
  std::unique_ptr<HostLeases> leases;  // null: per-account mode (reason says why)
  RegistryError error = RegistryError::none;
  std::string reason;
};

class HostLeases {
 public:
  // Host coordination for `table` when HOSTDIR's registry is valid and its range equals the
  // table's; the caller's uid is the effective uid.
  static HostLeasesOpen attach(const PortTable& table, const std::string& dir);
  // The same over an already opened registry (tests, benchmarks).
  HostLeases(const PortTable& table, std::unique_ptr<HostRegistry> registry, uid_t uid, std::string socket_path);

  // A port-0 pick: a free port of the blocks leased to us (round robin from the table's cursor);
  // none free -> lease one more and look again; refused or unreachable -> the old rules inside
  // our blocks (lingers give way) and, with no block at all, an invalid ref (the kernel chooses).
  // After claiming, re-checks the block's owner+generation and drops the claim if it changed.
  PickResult pick(PortTable& table, Protocol proto, const Claimant& who,
                  SlotState target = SlotState::bound) noexcept;
  // A fixed port: true only when it lies in a block leased to another uid (or another table)
  // and the host daemon answers that its account has it. Unreachable: false (fail open), and
  // for the next second no query is sent (false at once): a slow daemon must not cost every
  // fixed bind its 200 ms.
  bool taken_by_other_account(Protocol proto, uint16_t port) const noexcept;

  const HostRegistry& registry() const noexcept { return *registry_; }
  uid_t uid() const noexcept { return uid_; }
  // How many blocks are ours now (doctor/status, tests).
  uint32_t own_blocks() const noexcept;
  // Counters, for tests and the benchmark: leases asked, refused/unreachable, claims dropped by the re-check.
  uint64_t leases_asked() const noexcept { return leases_asked_.load(std::memory_order_relaxed); }
  uint64_t claims_dropped() const noexcept { return claims_dropped_.load(std::memory_order_relaxed); }
  uint64_t queries_asked() const noexcept { return queries_asked_.load(std::memory_order_relaxed); }
  void set_hooks_for_tests(const PickHooks& hooks) noexcept { hooks_ = hooks; }

 private:
  bool lease_one_more() noexcept;

  std::unique_ptr<HostRegistry> registry_;
  uid_t uid_;
  char table_name_[kNameBytes] = {};
  HostClient client_;
  // After a refusal or an unreachable daemon, no new lease is asked before this time (ms,
  // CLOCK_MONOTONIC): a full account must not pay 200 ms on every bind.
  std::atomic<int64_t> no_lease_before_ms_{0};
  // After an unreachable or slow daemon (lease or query), no query before this time (ms).
  mutable std::atomic<int64_t> no_query_before_ms_{0};
  mutable std::atomic<uint64_t> queries_asked_{0};
  std::atomic<uint64_t> leases_asked_{0};
  std::atomic<uint64_t> claims_dropped_{0};
  PickHooks hooks_;
};

}  // namespace portsafe
