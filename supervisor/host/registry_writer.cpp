#include "registry_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

namespace portsafe {

namespace bip = boost::interprocess;

namespace {

struct Mapping {
  bip::file_mapping file;
  bip::mapped_region region;
};

void store_name(std::atomic<uint64_t> (&dest)[kNameBytes / 8], const std::string& text) noexcept {
  char buf[kNameBytes] = {};
  std::memcpy(buf, text.data(), std::min(text.size(), kNameBytes - 1));
  for (size_t i = 0; i < kNameBytes / 8; ++i) {
    uint64_t chunk;
    std::memcpy(&chunk, buf + i * 8, 8);
    dest[i].store(chunk, std::memory_order_relaxed);
  }
}

}  // namespace

// The writer reaches the view's entries through this friend of HostRegistry.
class RegistryAccess {
 public:
  static std::unique_ptr<HostRegistry> map_read_write(const std::string& path, std::string& error) {
    try {
      auto mapping = std::make_shared<Mapping>();
      mapping->file = bip::file_mapping(path.c_str(), bip::read_write);
      struct stat st {};
      if (::fstat(mapping->file.get_mapping_handle().handle, &st) != 0) {
        error = fmt::format("cannot inspect {}: {}", path, std::strerror(errno));
        return nullptr;
      }
      if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 0022) != 0 ||
          static_cast<uint64_t>(st.st_size) < kRegistryHeaderBytes) {
        error = fmt::format("{} is not a registry this daemon made (owner uid {}, mode {:o}, {} bytes)", path,
                            st.st_uid, st.st_mode & 07777, st.st_size);
        return nullptr;
      }
      mapping->region = bip::mapped_region(mapping->file, bip::read_write, 0, static_cast<size_t>(st.st_size));
      void* base = mapping->region.get_address();
      const size_t size = mapping->region.get_size();
      return std::unique_ptr<HostRegistry>(new HostRegistry(path, mapping, base, size));
    } catch (const bip::interprocess_exception& e) {
      error = fmt::format("cannot map {}: {}", path, e.what());
      return nullptr;
    }
  }
  static RegistryHeader* header(HostRegistry& view) noexcept { return view.header(); }
  static HostBlock& entry(HostRegistry& view, uint32_t index) noexcept { return view.entry(index); }
};

namespace host {
namespace {

using Access = portsafe::RegistryAccess;

bool same_geometry(const HostRegistry& view, const RegistrySpec& spec) {
  return view.range() == spec.range && view.block_size() == spec.block_size && view.netns_inode() == spec.netns_inode;
}

// Builds a fresh registry under a scratch name and renames it into place: readers see either
// the old file or a complete new one.
bool create_registry(const RegistrySpec& spec, std::string& error) {
  const uint32_t ports = spec.range.size();
  const uint32_t blocks = (ports + spec.block_size - 1) / spec.block_size;
  if (blocks > kMaxBlocks) {
    error = fmt::format("range {} in blocks of {} makes {} blocks, more than {}: use a larger --block-size",
                        format_range(spec.range), spec.block_size, blocks, kMaxBlocks);
    return false;
  }
  const uint64_t size = kRegistryHeaderBytes + uint64_t{blocks} * sizeof(HostBlock);
  std::random_device entropy;
  const std::string path = host_registry_path(spec.dir);
  const std::string scratch = fmt::format("{}.new-{}-{:08x}", path, ::getpid(), entropy());
  const int fd = ::open(scratch.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    error = fmt::format("cannot create {}: {}", scratch, std::strerror(errno));
    return false;
  }
  ::fchmod(fd, 0644);  // independent of the umask
  std::vector<unsigned char> bytes(size, 0);
  auto* header = reinterpret_cast<RegistryHeader*>(bytes.data());
  header->magic = kRegistryMagic;
  header->layout_version = kRegistryLayoutVersion;
  header->header_size = kRegistryHeaderBytes;
  header->netns_inode = spec.netns_inode;
  header->range_low = spec.range.low;
  header->range_high = spec.range.high;
  header->block_size = spec.block_size;
  header->block_count = blocks;
  header->block_entry_size = sizeof(HostBlock);
  header->file_size = size;
  header->checksum = HostRegistry::checksum(*header);
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::pwrite(fd, bytes.data() + written, bytes.size() - written, static_cast<off_t>(written));
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const bool complete = written == bytes.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!complete || ::rename(scratch.c_str(), path.c_str()) != 0) {
    error = fmt::format("cannot write {}: {}", path, std::strerror(errno));
    ::unlink(scratch.c_str());
    return false;
  }
  return true;
}

}  // namespace

WriterOpen HostRegistryWriter::open_or_create(const RegistrySpec& spec) {
  WriterOpen result;
  const std::string path = host_registry_path(spec.dir);
  std::string error;
  if (auto existing = Access::map_read_write(path, error)) {
    std::string detail;
    struct stat st {};
    ::stat(path.c_str(), &st);
    if (HostRegistry::check_header(*Access::header(*existing), static_cast<uint64_t>(st.st_size), 0, detail) ==
            RegistryError::none &&
        same_geometry(*existing, spec)) {
      result.writer.reset(new HostRegistryWriter(std::move(existing)));
      return result;
    }
  }
  // Missing, damaged, or another geometry: a new one. Accounts that mapped the old file keep
  // their old view until their processes restart (documented).
  if (!create_registry(spec, result.error)) return result;
  auto fresh = Access::map_read_write(path, result.error);
  if (!fresh) return result;
  result.writer.reset(new HostRegistryWriter(std::move(fresh)));
  result.created = true;
  return result;
}

void HostRegistryWriter::store_word(uint32_t block, BlockState state, uid_t uid) noexcept {
  HostBlock& entry = Access::entry(*view_, block);
  const uint64_t old = entry.word.load(std::memory_order_relaxed);
  // seq_cst: the reclaiming mark must be visible before the scan that follows reads any table.
  entry.word.store(block_word::make(state, block_word::generation(old) + 1, uid), std::memory_order_seq_cst);
}

uint32_t HostRegistryWriter::grant(uint32_t block, uid_t uid, const std::string& table_name, int64_t now_ms) noexcept {
  HostBlock& entry = Access::entry(*view_, block);
  store_name(entry.table_name, table_name);
  entry.leased_at_ms.store(now_ms, std::memory_order_relaxed);
  entry.last_claim_ms.store(now_ms, std::memory_order_relaxed);
  store_word(block, BlockState::leased, uid);
  Access::header(*view_)->leases_granted.fetch_add(1, std::memory_order_relaxed);
  return block_word::generation(entry.word.load(std::memory_order_relaxed));
}

void HostRegistryWriter::mark_reclaiming(uint32_t block) noexcept {
  const uint64_t word = view_->word(block);
  store_word(block, BlockState::reclaiming, block_word::uid(word));
}

void HostRegistryWriter::release(uint32_t block) noexcept {
  store_word(block, BlockState::free, 0);
  Access::header(*view_)->blocks_reclaimed.fetch_add(1, std::memory_order_relaxed);
}

void HostRegistryWriter::keep(uint32_t block, int64_t now_ms) noexcept {
  const uint64_t word = view_->word(block);
  Access::entry(*view_, block).last_claim_ms.store(now_ms, std::memory_order_relaxed);
  store_word(block, BlockState::leased, block_word::uid(word));
}

void HostRegistryWriter::note_claim_seen(uint32_t block, int64_t now_ms) noexcept {
  Access::entry(*view_, block).last_claim_ms.store(now_ms, std::memory_order_relaxed);
}

void HostRegistryWriter::count_refusal() noexcept {
  Access::header(*view_)->leases_refused.fetch_add(1, std::memory_order_relaxed);
}

void HostRegistryWriter::set_daemon_pid(uint32_t pid) noexcept {
  Access::header(*view_)->daemon_pid.store(pid, std::memory_order_relaxed);
}

}  // namespace host
}  // namespace portsafe
