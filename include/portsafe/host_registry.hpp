// The host registry: which BLOCKS of the default range are leased to which account (issue 16).
//
// One root-owned 0644 file, HOSTDIR/leases, of fixed size, written ONLY by the host daemon
// (`portsafed --host`, through HostRegistryWriter) and mapped read-only by every account. Only
// root can truncate or replace it, so mapping it is safe (no SIGBUS from a hostile user). Each
// account keeps its own 0600 port table (the lock-free fast path) and picks only inside the
// blocks leased to its uid and table; a registry that fails any check is ignored and the account
// works per account, as before (RegistryOpen::reason says why, for `portsafe doctor`).
//
// A block's state, generation and owner uid share one 64-bit word, so an account re-checks "is
// this block still mine, unchanged?" with one load after it claimed a port in it: the daemon
// marks a block `reclaiming` (generation + 1) BEFORE it scans the owner's table for claims, so a
// pick racing the reclaim either sees the change (and drops its claim) or is seen by the scan.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "portsafe/port_range.hpp"
#include "portsafe/port_table.hpp"

namespace portsafe {

inline constexpr const char* kDefaultHostDir = "/run/portsafe";
inline constexpr uint64_t kRegistryMagic = 0x4752545348535350ull;  // "PSSHSTRG" little-endian
inline constexpr uint32_t kRegistryLayoutVersion = 1;
inline constexpr size_t kRegistryHeaderBytes = 256;
inline constexpr uint32_t kDefaultBlockSize = 128;
// Most blocks a registry may have (32,768 ports in blocks of at least 32).
inline constexpr uint32_t kMaxBlocks = 1024;
// Most blocks one account's pick walks (the fixed arrays of the shim's bind path, on its stack).
inline constexpr uint32_t kMaxOwnBlocks = PortSpans::kMaxSpans;
// A block whose owner's table shows no claim in it for this long (or whose table is gone) goes
// back to the pool.
inline constexpr int64_t kReclaimIdleMs = 5'000;

// HOSTDIR: PORTSAFE_HOST_DIR when set, else /run/portsafe.
std::string host_dir();
std::string host_socket_path(const std::string& dir);    // HOSTDIR/host.sock (0666)
std::string host_registry_path(const std::string& dir);  // HOSTDIR/leases (0644, root)
// The inode of the caller's network namespace (/proc/self/ns/net); 0 when unreadable.
uint64_t network_namespace_inode() noexcept;

enum class BlockState : uint8_t { free = 0, leased = 1, reclaiming = 2 };
const char* block_state_name(BlockState state) noexcept;

// The block word: state (2 bits) | generation (30 bits) | owner uid (32 bits).
namespace block_word {
uint64_t make(BlockState state, uint32_t generation, uid_t uid) noexcept;
BlockState state(uint64_t word) noexcept;
uint32_t generation(uint64_t word) noexcept;
uid_t uid(uint64_t word) noexcept;
}  // namespace block_word

struct RegistryHeader {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t header_size;
  uint64_t netns_inode;  // the network namespace the daemon serves
  uint16_t range_low;
  uint16_t range_high;
  uint32_t block_size;   // ports per block (the last block may be shorter)
  uint32_t block_count;
  uint32_t block_entry_size;
  uint64_t file_size;
  uint64_t checksum;  // FNV-1a of every byte above
  // Not checksummed: counters the daemon keeps for `portsafe status`/doctor.
  std::atomic<uint64_t> leases_granted;
  std::atomic<uint64_t> leases_refused;
  std::atomic<uint64_t> blocks_reclaimed;
  std::atomic<uint32_t> daemon_pid;  // the serving daemon (informational)
};
static_assert(sizeof(RegistryHeader) <= kRegistryHeaderBytes);

struct alignas(64) HostBlock {
  std::atomic<uint64_t> word;          // block_word
  std::atomic<int64_t> leased_at_ms;   // CLOCK_MONOTONIC ms when leased
  std::atomic<int64_t> last_claim_ms;  // the daemon's last sight of a claim in it
  // The lessee's table ("portsafe-HASH", 25 characters): one uid may run several runtime roots,
  // each with its own table, and each gets its own blocks.
  std::atomic<uint64_t> table_name[kNameBytes / 8];
};
static_assert(sizeof(HostBlock) == 64);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

enum class RegistryError {
  none,
  missing,          // no host daemon has run here: per-account mode
  untrusted_dir,    // HOSTDIR not root-owned, group/other-writable, or a symlink
  untrusted_file,   // leases not root-owned, group/other-writable, or not a regular file
  too_small,
  bad_magic,
  wrong_version,
  bad_checksum,
  bad_geometry,
  other_netns,      // serves another network namespace
  range_mismatch,   // the account's table range is not the registry's (a custom PORTSAFE_RANGE)
  system,
};
const char* registry_error_name(RegistryError error) noexcept;

class HostRegistry;
struct RegistryOpen {
  std::unique_ptr<HostRegistry> registry;
  RegistryError error = RegistryError::none;
  std::string reason;  // one line for doctor: what is wrong and what it means (per-account mode)
};

// What one block looks like (a consistent read: word loaded before and after the name).
struct BlockView {
  uint32_t index = 0;
  uint64_t word = 0;
  BlockState state = BlockState::free;
  uint32_t generation = 0;
  uid_t uid = 0;
  int64_t leased_at_ms = 0;
  int64_t last_claim_ms = 0;
  char table_name[kNameBytes] = {};
};

struct AccountBlocks {
  uid_t uid = 0;
  uint32_t blocks = 0;  // leased (and reclaiming) blocks of that uid, all its tables
};

// The read-only view every account maps. Allocation-free after open (the shim's bind path).
class HostRegistry {
 public:
  // Opens HOSTDIR/leases read-only, checking the directory, the file (root-owned, regular, not
  // group/other-writable), the header (magic, version, checksum, geometry, file size) and that
  // it serves the caller's network namespace.
  static RegistryOpen open(const std::string& dir);
  // The same, also requiring the registry's range to equal `range` (the account's table range).
  static RegistryOpen open_for_range(const std::string& dir, const PortRange& range);
  // Checks a header as read from a file of `file_size` bytes; `netns_inode` 0 skips that check.
  static RegistryError check_header(const RegistryHeader& header, uint64_t file_size, uint64_t netns_inode,
                                    std::string& detail) noexcept;
  static uint64_t checksum(const RegistryHeader& header) noexcept;

  ~HostRegistry();
  HostRegistry(const HostRegistry&) = delete;
  HostRegistry& operator=(const HostRegistry&) = delete;

  PortRange range() const noexcept { return range_; }
  uint32_t block_size() const noexcept { return block_size_; }
  uint32_t block_count() const noexcept { return block_count_; }
  uint64_t netns_inode() const noexcept;
  const std::string& path() const noexcept { return path_; }

  PortRange block_range(uint32_t index) const noexcept;
  std::optional<uint32_t> block_of(uint16_t port) const noexcept;
  uint64_t word(uint32_t index) const noexcept;  // acquire load of the block word
  BlockView block(uint32_t index) const noexcept;
  // True when `word` says leased to uid, and block `index` is leased to table `table_name`.
  bool leased_to(uint32_t index, uint64_t word, uid_t uid, const char* table_name) const noexcept;
  // The blocks leased (state leased, not reclaiming) to uid for table_name: indices and the words
  // seen, in block order, at most `capacity`; returns how many.
  uint32_t blocks_of(uid_t uid, const char* table_name, uint32_t* indices, uint64_t* words,
                     uint32_t capacity) const noexcept;
  // Blocks per account (uid), for `portsafe status` (counts only: nothing else of theirs).
  std::vector<AccountBlocks> counts() const;
  uint32_t free_blocks() const noexcept;

 protected:
  // mapping keeps the memory at base mapped for the view's lifetime.
  HostRegistry(std::string path, std::shared_ptr<void> mapping, void* base, size_t size);
  RegistryHeader* header() const noexcept { return header_; }
  HostBlock& entry(uint32_t index) const noexcept { return blocks_[index]; }

 private:
  friend class RegistryAccess;  // the host daemon's writer (supervisor/host/registry_writer.cpp)
  std::string path_;
  std::shared_ptr<void> mapping_;
  void* base_;
  size_t size_;
  RegistryHeader* header_;
  HostBlock* blocks_;
  PortRange range_;
  uint32_t block_size_;
  uint32_t block_count_;
};

}  // namespace portsafe
