#include "portsafe/host_leases.hpp"

#include <unistd.h>

#include <atomic>
#include <cstring>

namespace portsafe {
namespace {

// A pick that keeps losing its claims to reclaims, or keeps being granted blocks others fill
// first, gives up after this many rounds (the caller then falls back as when the range is full).
constexpr int kPickRounds = 8;
// After a refusal or an unreachable daemon, picks stay inside the blocks they have this long
// before asking again: a full account must not pay an RPC on every bind.
constexpr int64_t kLeaseBackoffMs = 1'000;

void full_fence() noexcept {
#if defined(__SANITIZE_THREAD__)
  // GCC refuses atomic_thread_fence under -fsanitize=thread; a seq_cst RMW orders the same.
  static std::atomic<uint32_t> order{0};
  order.fetch_add(0, std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// The blocks leased to us as the pick saw them.
struct OwnBlocks {
  uint32_t count = 0;
  uint32_t indices[kMaxOwnBlocks];
  uint64_t words[kMaxOwnBlocks];
  PortRange ranges[kMaxOwnBlocks];
};

}  // namespace

HostLeasesOpen HostLeases::attach(const PortTable& table, const std::string& dir) {
  HostLeasesOpen result;
  RegistryOpen opened = HostRegistry::open_for_range(dir, table.range());
  if (!opened.registry) {
    result.error = opened.error;
    result.reason = std::move(opened.reason);
    return result;
  }
  result.leases = std::make_unique<HostLeases>(table, std::move(opened.registry), ::geteuid(), host_socket_path(dir));
  return result;
}

HostLeases::HostLeases(const PortTable& table, std::unique_ptr<HostRegistry> registry, uid_t uid,
                       std::string socket_path)
    : registry_(std::move(registry)), uid_(uid), client_(socket_path.c_str()) {
  std::strncpy(table_name_, table.name().c_str(), kNameBytes - 1);
}

uint32_t HostLeases::own_blocks() const noexcept {
  uint32_t indices[kMaxOwnBlocks];
  uint64_t words[kMaxOwnBlocks];
  return registry_->blocks_of(uid_, table_name_, indices, words, kMaxOwnBlocks);
}

bool HostLeases::lease_one_more() noexcept {
  const int64_t now = monotonic_ms();
  if (now < no_lease_before_ms_.load(std::memory_order_relaxed)) return false;
  leases_asked_.fetch_add(1, std::memory_order_relaxed);
  const HostReply reply = client_.lease(table_name_);
  if (reply.answer == HostAnswer::granted) return true;
  const int64_t until = monotonic_ms() + kLeaseBackoffMs;
  no_lease_before_ms_.store(until, std::memory_order_relaxed);
  if (reply.answer == HostAnswer::unreachable) no_query_before_ms_.store(until, std::memory_order_relaxed);
  return false;
}

PickResult HostLeases::pick(PortTable& table, Protocol proto, const Claimant& who, SlotState target) noexcept {
  PickResult result;
  OwnBlocks own;
  // Re-checks the claimed port's block: the daemon marks a block reclaiming BEFORE it scans our
  // table, so either it sees our claim or we see its mark. The full fence orders our claim's
  // publication before the re-read (a store then a load: Dekker's pattern).
  const auto still_ours = [&](const SlotRef& ref) noexcept {
    const uint16_t port = static_cast<uint16_t>(table.range().low + ref.index % table.range().size());
    const auto block = registry_->block_of(port);
    if (!block) return false;
    full_fence();
    const uint64_t now_word = registry_->word(*block);
    for (uint32_t i = 0; i < own.count; ++i) {
      if (own.indices[i] == *block) return now_word == own.words[i];
    }
    return false;
  };
  const auto confirmed = [&](const PickResult& picked) noexcept {
    if (hooks_.before_recheck != nullptr) hooks_.before_recheck(hooks_.context);
    if (still_ours(picked.ref)) return true;
    table.drop(picked.ref, who.process);
    claims_dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  };
  for (int round = 0; round < kPickRounds; ++round) {
    own.count = registry_->blocks_of(uid_, table_name_, own.indices, own.words, kMaxOwnBlocks);
    for (uint32_t i = 0; i < own.count; ++i) own.ranges[i] = registry_->block_range(own.indices[i]);
    const PortSpans spans{own.ranges, own.count};
    if (hooks_.after_snapshot != nullptr) hooks_.after_snapshot(hooks_.context);
    const bool may_lease = monotonic_ms() >= no_lease_before_ms_.load(std::memory_order_relaxed);
    if (own.count > 0 && may_lease) {
      // A free port of our blocks first; lingers give way only once no more room can be leased.
      const PickResult free = table.pick_in(proto, spans, who, target, PickMode::free_only);
      if (free.ref.valid()) {
        if (confirmed(free)) return free;
        continue;
      }
    }
    if (may_lease && lease_one_more()) continue;
    // Refused or unreachable: the old rules inside our blocks; with none, the kernel chooses.
    // Another process of the account may have leased one meanwhile (a burst of first picks).
    if (own.count == 0) {
      own.count = registry_->blocks_of(uid_, table_name_, own.indices, own.words, kMaxOwnBlocks);
      for (uint32_t i = 0; i < own.count; ++i) own.ranges[i] = registry_->block_range(own.indices[i]);
    }
    const PortSpans now_spans{own.ranges, own.count};
    result.host_limited = true;
    if (own.count == 0) return result;
    PickResult crowded = table.pick_in(proto, now_spans, who, target, PickMode::give_way);
    crowded.host_limited = !crowded.ref.valid();
    if (!crowded.ref.valid()) return crowded;
    if (confirmed(crowded)) return crowded;
  }
  return result;
}

bool HostLeases::taken_by_other_account(Protocol proto, uint16_t port) const noexcept {
  const auto block = registry_->block_of(port);
  if (!block) return false;
  const uint64_t word = registry_->word(*block);
  if (block_word::state(word) == BlockState::free) return false;
  if (registry_->leased_to(*block, word, uid_, table_name_)) return false;
  // Unreachable or slow a moment ago: fail open at once rather than wait 200 ms per bind.
  if (monotonic_ms() < no_query_before_ms_.load(std::memory_order_relaxed)) return false;
  queries_asked_.fetch_add(1, std::memory_order_relaxed);
  const HostAnswer answer = client_.query(proto, port).answer;
  if (answer == HostAnswer::unreachable) {
    no_query_before_ms_.store(monotonic_ms() + kLeaseBackoffMs, std::memory_order_relaxed);
  }
  return answer == HostAnswer::taken;
}

}  // namespace portsafe
