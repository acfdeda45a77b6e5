#include "portsafe/host_registry.hpp"

#include <sys/stat.h>

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

namespace portsafe {
namespace bip = boost::interprocess;

namespace {

constexpr unsigned kStateShift = 62;
constexpr unsigned kGenerationShift = 32;
constexpr uint64_t kGenerationMask = (uint64_t{1} << 30) - 1;

const char* kPerAccount = "host-wide coordination is off, each account coordinates only its own jobs";

// The mapping stays alive as long as the view. The file is closed once mapped: the shim keeps
// no descriptor a program could close or trip over (programs that close every descriptor).
struct Mapping {
  bip::mapped_region region;
};

RegistryOpen fail(RegistryError error, std::string reason) {
  RegistryOpen result;
  result.error = error;
  result.reason = std::move(reason);
  return result;
}

// Only root may be able to change what accounts trust: the directory (or a file in it could be
// replaced) and the file itself.
bool is_root_only(const struct stat& st) noexcept { return st.st_uid == 0 && (st.st_mode & 0022) == 0; }

void load_name(const std::atomic<uint64_t> (&src)[kNameBytes / 8], char (&out)[kNameBytes]) noexcept {
  for (size_t i = 0; i < kNameBytes / 8; ++i) {
    const uint64_t chunk = src[i].load(std::memory_order_acquire);
    std::memcpy(out + i * 8, &chunk, 8);
  }
  out[kNameBytes - 1] = '\0';
}

bool name_equals(const std::atomic<uint64_t> (&src)[kNameBytes / 8], const char* name) noexcept {
  char buf[kNameBytes] = {};
  for (size_t i = 0; i + 1 < kNameBytes && name[i] != '\0'; ++i) buf[i] = name[i];
  for (size_t i = 0; i < kNameBytes / 8; ++i) {
    uint64_t chunk;
    std::memcpy(&chunk, buf + i * 8, 8);
    if (src[i].load(std::memory_order_acquire) != chunk) return false;
  }
  return true;
}

}  // namespace

std::string host_dir() {
  const char* dir = std::getenv("PORTSAFE_HOST_DIR");
  return dir != nullptr && *dir != '\0' ? std::string(dir) : std::string(kDefaultHostDir);
}
std::string host_socket_path(const std::string& dir) { return dir + "/host.sock"; }
std::string host_registry_path(const std::string& dir) { return dir + "/leases"; }

uint64_t network_namespace_inode() noexcept {
  struct stat st {};
  if (::stat("/proc/self/ns/net", &st) != 0) return 0;
  return st.st_ino;
}

const char* block_state_name(BlockState state) noexcept {
  switch (state) {
    case BlockState::free: return "free";
    case BlockState::leased: return "leased";
    case BlockState::reclaiming: return "reclaiming";
  }
  return "unknown";
}

const char* registry_error_name(RegistryError error) noexcept {
  switch (error) {
    case RegistryError::none: return "none";
    case RegistryError::missing: return "missing";
    case RegistryError::untrusted_dir: return "untrusted_dir";
    case RegistryError::untrusted_file: return "untrusted_file";
    case RegistryError::too_small: return "too_small";
    case RegistryError::bad_magic: return "bad_magic";
    case RegistryError::wrong_version: return "wrong_version";
    case RegistryError::bad_checksum: return "bad_checksum";
    case RegistryError::bad_geometry: return "bad_geometry";
    case RegistryError::other_netns: return "other_netns";
    case RegistryError::range_mismatch: return "range_mismatch";
    case RegistryError::system: return "system";
  }
  return "unknown";
}

namespace block_word {
uint64_t make(BlockState state, uint32_t generation, uid_t uid) noexcept {
  return (static_cast<uint64_t>(state) << kStateShift) | ((generation & kGenerationMask) << kGenerationShift) |
         static_cast<uint32_t>(uid);
}
BlockState state(uint64_t word) noexcept { return static_cast<BlockState>(word >> kStateShift); }
uint32_t generation(uint64_t word) noexcept { return static_cast<uint32_t>((word >> kGenerationShift) & kGenerationMask); }
uid_t uid(uint64_t word) noexcept { return static_cast<uid_t>(word & 0xffffffffu); }
}  // namespace block_word

uint64_t HostRegistry::checksum(const RegistryHeader& header) noexcept {
  const auto* bytes = reinterpret_cast<const unsigned char*>(&header);
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < offsetof(RegistryHeader, checksum); ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

RegistryError HostRegistry::check_header(const RegistryHeader& header, uint64_t file_size, uint64_t netns_inode,
                                         std::string& detail) noexcept {
  if (file_size < kRegistryHeaderBytes) {
    detail = fmt::format("truncated: {} bytes", file_size);
    return RegistryError::too_small;
  }
  if (header.magic != kRegistryMagic) {
    detail = "bad magic";
    return RegistryError::bad_magic;
  }
  if (header.layout_version != kRegistryLayoutVersion) {
    detail = fmt::format("layout version {}, this portsafe reads {}", header.layout_version, kRegistryLayoutVersion);
    return RegistryError::wrong_version;
  }
  if (header.checksum != checksum(header)) {
    detail = "header checksum mismatch";
    return RegistryError::bad_checksum;
  }
  const uint32_t ports = header.range_high >= header.range_low ? header.range_high - header.range_low + 1u : 0u;
  const uint64_t expected_size = kRegistryHeaderBytes + uint64_t{header.block_count} * sizeof(HostBlock);
  if (header.header_size != kRegistryHeaderBytes || header.block_entry_size != sizeof(HostBlock) || ports == 0 ||
      header.range_low < kLowestAllowedPort || header.block_size == 0 || header.block_count == 0 ||
      header.block_count > kMaxBlocks || header.block_count != (ports + header.block_size - 1) / header.block_size ||
      header.file_size != expected_size) {
    detail = "inconsistent geometry";
    return RegistryError::bad_geometry;
  }
  if (file_size < header.file_size) {
    detail = fmt::format("truncated: {} bytes of {}", file_size, header.file_size);
    return RegistryError::too_small;
  }
  if (netns_inode != 0 && header.netns_inode != netns_inode) {
    detail = fmt::format("serves network namespace {}, this process is in {}", header.netns_inode, netns_inode);
    return RegistryError::other_netns;
  }
  return RegistryError::none;
}

RegistryOpen HostRegistry::open(const std::string& dir) {
  const std::string path = host_registry_path(dir);
  struct stat dir_st {};
  if (::lstat(dir.c_str(), &dir_st) != 0) {
    if (errno == ENOENT) return fail(RegistryError::missing, fmt::format("no host daemon here ({} does not exist): {}", dir, kPerAccount));
    return fail(RegistryError::system, fmt::format("cannot inspect {}: {}; {}", dir, std::strerror(errno), kPerAccount));
  }
  if (!S_ISDIR(dir_st.st_mode) || !is_root_only(dir_st)) {
    return fail(RegistryError::untrusted_dir,
                fmt::format("{} is ignored: it must be a root-owned directory no one else can write (owner uid {}, mode "
                            "{:o}); {}",
                            dir, dir_st.st_uid, dir_st.st_mode & 07777, kPerAccount));
  }
  try {
    auto mapping = std::make_unique<Mapping>();
    bip::file_mapping file;
    try {
      file = bip::file_mapping(path.c_str(), bip::read_only);
    } catch (const bip::interprocess_exception& e) {
      if (e.get_native_error() == ENOENT) {
        return fail(RegistryError::missing, fmt::format("no host daemon has run here ({} does not exist): {}", path, kPerAccount));
      }
      throw;
    }
    struct stat st {};
    if (::fstat(file.get_mapping_handle().handle, &st) != 0) {
      return fail(RegistryError::system, fmt::format("cannot inspect {}: {}; {}", path, std::strerror(errno), kPerAccount));
    }
    if (!S_ISREG(st.st_mode) || !is_root_only(st)) {
      return fail(RegistryError::untrusted_file,
                  fmt::format("{} is ignored: it must be a root-owned regular file no one else can write (owner uid {}, "
                              "mode {:o}); {}",
                              path, st.st_uid, st.st_mode & 07777, kPerAccount));
    }
    const auto size = static_cast<uint64_t>(st.st_size);
    if (size < kRegistryHeaderBytes) {
      return fail(RegistryError::too_small, fmt::format("{} is ignored: truncated ({} bytes); {}", path, size, kPerAccount));
    }
    mapping->region = bip::mapped_region(file, bip::read_only, 0, static_cast<size_t>(size));
    const auto* header = static_cast<const RegistryHeader*>(mapping->region.get_address());
    std::string detail;
    if (const RegistryError error = check_header(*header, size, network_namespace_inode(), detail);
        error != RegistryError::none) {
      return fail(error, fmt::format("{} is ignored ({}); {}", path, detail, kPerAccount));
    }
    void* base = mapping->region.get_address();
    const size_t mapped = mapping->region.get_size();
    RegistryOpen result;
    result.registry.reset(new HostRegistry(path, std::shared_ptr<Mapping>(std::move(mapping)), base, mapped));
    return result;
  } catch (const bip::interprocess_exception& e) {
    return fail(RegistryError::system, fmt::format("cannot open {}: {}; {}", path, e.what(), kPerAccount));
  }
}

RegistryOpen HostRegistry::open_for_range(const std::string& dir, const PortRange& range) {
  RegistryOpen opened = open(dir);
  if (opened.registry && !(opened.registry->range() == range)) {
    const PortRange theirs = opened.registry->range();
    opened.registry.reset();
    opened.error = RegistryError::range_mismatch;
    opened.reason = fmt::format("the host daemon coordinates {}, this table uses {} (a custom PORTSAFE_RANGE opts "
                                "out): this account coordinates only its own jobs",
                                format_range(theirs), format_range(range));
  }
  return opened;
}

HostRegistry::HostRegistry(std::string path, std::shared_ptr<void> mapping, void* base, size_t size)
    : path_(std::move(path)), mapping_(std::move(mapping)), base_(base), size_(size) {
  header_ = static_cast<RegistryHeader*>(base_);
  blocks_ = reinterpret_cast<HostBlock*>(static_cast<char*>(base_) + kRegistryHeaderBytes);
  range_ = PortRange{header_->range_low, header_->range_high};
  block_size_ = header_->block_size;
  block_count_ = header_->block_count;
}

HostRegistry::~HostRegistry() = default;

uint64_t HostRegistry::netns_inode() const noexcept { return header_->netns_inode; }

PortRange HostRegistry::block_range(uint32_t index) const noexcept {
  const uint32_t low = range_.low + index * block_size_;
  const uint32_t high = std::min<uint32_t>(low + block_size_ - 1, range_.high);
  return PortRange{static_cast<uint16_t>(low), static_cast<uint16_t>(high)};
}

std::optional<uint32_t> HostRegistry::block_of(uint16_t port) const noexcept {
  if (!range_.contains(port)) return std::nullopt;
  return (port - range_.low) / block_size_;
}

uint64_t HostRegistry::word(uint32_t index) const noexcept {
  return blocks_[index].word.load(std::memory_order_acquire);
}

BlockView HostRegistry::block(uint32_t index) const noexcept {
  BlockView view;
  view.index = index;
  const HostBlock& b = blocks_[index];
  for (int attempt = 0; attempt < 8; ++attempt) {
    view.word = b.word.load(std::memory_order_acquire);
    view.leased_at_ms = b.leased_at_ms.load(std::memory_order_acquire);
    view.last_claim_ms = b.last_claim_ms.load(std::memory_order_acquire);
    load_name(b.table_name, view.table_name);
    if (b.word.load(std::memory_order_acquire) == view.word) break;
  }
  view.state = block_word::state(view.word);
  view.generation = block_word::generation(view.word);
  view.uid = block_word::uid(view.word);
  return view;
}

bool HostRegistry::leased_to(uint32_t index, uint64_t word, uid_t uid, const char* table_name) const noexcept {
  if (block_word::state(word) != BlockState::leased || block_word::uid(word) != uid) return false;
  const HostBlock& b = blocks_[index];
  // The daemon writes the name before it publishes the word: equal words around the compare
  // mean the name belongs to this lease.
  return name_equals(b.table_name, table_name) && b.word.load(std::memory_order_acquire) == word;
}

uint32_t HostRegistry::blocks_of(uid_t uid, const char* table_name, uint32_t* indices, uint64_t* words,
                                 uint32_t capacity) const noexcept {
  // The name packed once; each block costs one load unless its uid is ours (a pick reads this
  // on every call, so the loop stays free of calls and of the name for other accounts' blocks).
  char buf[kNameBytes] = {};
  for (size_t i = 0; i + 1 < kNameBytes && table_name[i] != '\0'; ++i) buf[i] = table_name[i];
  uint64_t name[kNameBytes / 8];
  std::memcpy(name, buf, sizeof name);
  const uint64_t wanted = block_word::make(BlockState::leased, 0, uid);
  constexpr uint64_t kStateAndUid = (uint64_t{3} << kStateShift) | 0xffffffffu;
  uint32_t found = 0;
  for (uint32_t i = 0; i < block_count_ && found < capacity; ++i) {
    const HostBlock& b = blocks_[i];
    const uint64_t w = b.word.load(std::memory_order_acquire);
    if ((w & kStateAndUid) != wanted) continue;
    bool same = true;
    for (size_t k = 0; k < kNameBytes / 8; ++k) same = same && b.table_name[k].load(std::memory_order_acquire) == name[k];
    // The daemon writes the name before it publishes the word: equal words around the compare
    // mean the name belongs to this lease.
    if (!same || b.word.load(std::memory_order_acquire) != w) continue;
    indices[found] = i;
    words[found] = w;
    ++found;
  }
  return found;
}

std::vector<AccountBlocks> HostRegistry::counts() const {
  std::map<uid_t, uint32_t> per_uid;
  for (uint32_t i = 0; i < block_count_; ++i) {
    const uint64_t w = word(i);
    if (block_word::state(w) != BlockState::free) ++per_uid[block_word::uid(w)];
  }
  std::vector<AccountBlocks> result;
  for (const auto& [uid, blocks] : per_uid) result.push_back(AccountBlocks{uid, blocks});
  return result;
}

uint32_t HostRegistry::free_blocks() const noexcept {
  uint32_t free = 0;
  for (uint32_t i = 0; i < block_count_; ++i) {
    if (block_word::state(word(i)) == BlockState::free) ++free;
  }
  return free;
}

}  // namespace portsafe
