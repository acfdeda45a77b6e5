#include "lease_book.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

#include <cerrno>

namespace portsafe::host {

uint32_t LeaseBook::blocks_of_uid(uid_t uid) const {
  const HostRegistry& view = registry_.view();
  uint32_t count = 0;
  for (uint32_t i = 0; i < view.block_count(); ++i) {
    const uint64_t word = view.word(i);
    if (block_word::state(word) != BlockState::free && block_word::uid(word) == uid) ++count;
  }
  return count;
}

uint32_t LeaseBook::cap_for(uid_t uid, int64_t now_ms) const {
  (void)uid;
  (void)now_ms;
  // Always half, even for an account alone: nothing takes a block back before it is idle for
  // 5 s, so one account (or a burst of its first picks) must never hold what a later one needs.
  return std::max<uint32_t>(1, registry_.view().block_count() / 2);
}

LeaseDecision LeaseBook::lease(uid_t uid, const std::string& table_name, int64_t now_ms) {
  LeaseDecision decision;
  std::string reason;
  const auto table = ForeignTable::open(table_name, uid, reason);
  if (!table) {
    decision.code = wire::ErrorCode::not_permitted;
    decision.message = fmt::format("no lease: {}", reason);
    return decision;
  }
  // A table of another range (a custom PORTSAFE_RANGE) never picks in the registry's blocks.
  if (table->range() != registry_.view().range()) {
    decision.code = wire::ErrorCode::not_permitted;
    decision.message = fmt::format("no lease: table {} covers {}, not the host range {}", table_name,
                                   format_range(table->range()), format_range(registry_.view().range()));
    return decision;
  }
  LeaseDecision first = try_lease(uid, table_name, now_ms);
  if (first.granted || now_ms - last_on_demand_reclaim_ms_ < kOnDemandReclaimMs) return first;
  // Blocks of tables that are gone (or idle long enough) may be waiting for the next sweep.
  last_on_demand_reclaim_ms_ = now_ms;
  if (reclaim_idle(now_ms) == 0) return first;
  return try_lease(uid, table_name, now_ms);
}

LeaseDecision LeaseBook::try_lease(uid_t uid, const std::string& table_name, int64_t now_ms) {
  LeaseDecision decision;
  const uint32_t cap = cap_for(uid, now_ms);
  if (blocks_of_uid(uid) >= cap) {
    registry_.count_refusal();
    decision.message = fmt::format("no lease: uid {} has {} blocks, its share (half of the range)", uid, cap);
    return decision;
  }
  // An account's pick sees at most kMaxOwnBlocks blocks of a table: one more would be held and
  // never used (until reclaimed), ports taken from the others for nothing.
  if (blocks_of_table(uid, table_name) >= kMaxOwnBlocks) {
    registry_.count_refusal();
    decision.message = fmt::format("no lease: table {} has {} blocks, the most an account's picks can use", table_name,
                                   kMaxOwnBlocks);
    return decision;
  }
  const HostRegistry& view = registry_.view();
  const uint32_t total = view.block_count();
  // Round robin over the blocks: a block freed a moment ago is the last one handed out again.
  for (uint32_t step = 0; step < total; ++step) {
    const uint32_t block = (next_free_hint_ + step) % total;
    if (block_word::state(view.word(block)) != BlockState::free) continue;
    decision.granted = true;
    decision.block = block;
    decision.generation = registry_.grant(block, uid, table_name, now_ms);
    next_free_hint_ = (block + 1) % total;
    return decision;
  }
  registry_.count_refusal();
  decision.message = "no lease: every block of the range is leased";
  return decision;
}

bool LeaseBook::taken_for(uid_t asker, Protocol proto, uint16_t port, int64_t now_ms) const {
  const HostRegistry& view = registry_.view();
  const auto index = view.block_of(port);
  if (!index) return false;
  const BlockView block = view.block(*index);
  if (block.state == BlockState::free) return false;
  std::string reason;
  const auto table = ForeignTable::open(block.table_name, block.uid, reason);
  if (!table) return false;
  // The asker's own table is its own business (its shim already asked it); any other is checked.
  (void)asker;
  return table->port_use(proto, port, now_ms) == PortUse::claimed;
}

BlockUse LeaseBook::scan(const BlockView& block, int64_t now_ms) const {
  std::string reason;
  OpenFailure failure = OpenFailure::none;
  const auto table = ForeignTable::open(block.table_name, block.uid, reason, &failure);
  if (!table) return failure == OpenFailure::gone ? BlockUse::gone : BlockUse::unknown;
  return table->block_use(registry_.view().block_range(block.index), now_ms);
}

uint32_t LeaseBook::blocks_of_table(uid_t uid, const std::string& table_name) const {
  uint32_t count = 0;
  for (uint32_t i = 0; i < registry_.view().block_count(); ++i) {
    const BlockView block = registry_.view().block(i);
    if (block.state != BlockState::free && block.uid == uid && table_name == block.table_name) ++count;
  }
  return count;
}

bool LeaseBook::table_missing(const BlockView& block) const {
  if (!is_table_name(block.table_name)) return true;
  struct stat st {};
  return ::lstat(PortTable::shm_path(block.table_name).c_str(), &st) != 0 && errno == ENOENT;
}

size_t LeaseBook::reclaim_idle(int64_t now_ms) {
  const HostRegistry& view = registry_.view();
  const uint32_t total = view.block_count();
  const int64_t started = monotonic_ms();
  size_t freed = 0;
  uint32_t scans = 0;
  // From where the last sweep stopped: a sweep cut short by its budget goes on there next time.
  for (uint32_t step = 0; step < total; ++step) {
    if (scans >= kScansPerSweep || monotonic_ms() - started >= kSweepBudgetMs) break;
    const uint32_t i = sweep_cursor_;
    sweep_cursor_ = (sweep_cursor_ + 1) % total;
    const BlockView block = view.block(i);
    if (block.state == BlockState::free) continue;
    // Inside the grace (leased or last seen in use < 5 s ago) the table is not read at all: one
    // lstat tells a gone table. So an account whose table is slow to read (garbage, busy words)
    // costs a scan per block every 5 s at most, never one per sweep.
    if (block.state == BlockState::leased && now_ms - block.last_claim_ms < kReclaimIdleMs && !table_missing(block)) {
      continue;
    }
    ++scans;
    ++scans_done_;
    const BlockUse use = scan(block, now_ms);
    // Unreadable now (EMFILE, EACCES, a short read): its claims are unknown, so it stays leased.
    if (use == BlockUse::unknown) continue;
    if (use == BlockUse::in_use) {
      if (block.state == BlockState::reclaiming) {
        registry_.keep(i, now_ms);  // a daemon that died mid-reclaim left it so
      } else {
        registry_.note_claim_seen(i, now_ms);
      }
      continue;
    }
    // Mark first, then look again: a pick that claimed before the mark is seen now; one that
    // claims after it sees the mark in its re-check and drops its claim.
    if (before_mark_for_tests) before_mark_for_tests(i);
    if (block.state == BlockState::leased) registry_.mark_reclaiming(i);
    const BlockUse again = scan(view.block(i), now_ms);
    const BlockUse last = again == BlockUse::in_use ? again : scan(view.block(i), now_ms);
    if (last == BlockUse::in_use || again == BlockUse::unknown || last == BlockUse::unknown) {
      registry_.keep(i, now_ms);
      continue;
    }
    registry_.release(i);
    ++freed;
  }
  return freed;
}

}  // namespace portsafe::host
