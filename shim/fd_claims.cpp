#include "fd_claims.hpp"

namespace portsafe::shim {
namespace {

// index_plus_one == 0 means "no claim": the zero-initialised array starts empty.
struct Entry {
  std::atomic<uint32_t> index_plus_one;
  std::atomic<uint16_t> port;
  std::atomic<uint64_t> word;
};

Entry g_entries[kTrackedFds];
std::atomic<int> g_limit{0};

bool in_table(int fd) noexcept { return fd >= 0 && fd < kTrackedFds; }

FdClaim load(const Entry& entry) noexcept {
  const uint32_t index_plus_one = entry.index_plus_one.load(std::memory_order_acquire);
  if (index_plus_one == 0) return {};
  FdClaim claim;
  claim.ref.index = index_plus_one - 1;
  claim.ref.word = entry.word.load(std::memory_order_relaxed);
  claim.port = entry.port.load(std::memory_order_relaxed);
  return claim;
}

}  // namespace

FdClaim track_fd(int fd, const FdClaim& claim) noexcept {
  if (!in_table(fd)) return {};
  Entry& entry = g_entries[fd];
  const FdClaim previous = load(entry);
  entry.word.store(claim.ref.word, std::memory_order_relaxed);
  entry.port.store(claim.port, std::memory_order_relaxed);
  entry.index_plus_one.store(claim.valid() ? claim.ref.index + 1 : 0, std::memory_order_release);
  if (claim.valid()) {
    int limit = g_limit.load(std::memory_order_relaxed);
    while (limit <= fd && !g_limit.compare_exchange_weak(limit, fd + 1, std::memory_order_relaxed)) {
    }
  }
  return previous;
}

FdClaim untrack_fd(int fd) noexcept {
  if (!in_table(fd)) return {};
  Entry& entry = g_entries[fd];
  const FdClaim previous = load(entry);
  if (previous.valid()) entry.index_plus_one.store(0, std::memory_order_release);
  return previous;
}

FdClaim tracked_claim(int fd) noexcept {
  if (!in_table(fd)) return {};
  return load(g_entries[fd]);
}

bool claim_still_referenced(const FdClaim& claim) noexcept {
  const int limit = g_limit.load(std::memory_order_relaxed);
  for (int fd = 0; fd < limit; ++fd) {
    const FdClaim other = load(g_entries[fd]);
    if (other.valid() && other.ref.index == claim.ref.index && other.ref.word == claim.ref.word) return true;
  }
  return false;
}

int tracked_fd_limit() noexcept { return g_limit.load(std::memory_order_relaxed); }

}  // namespace portsafe::shim
