#include "table_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace portsafe::host {
namespace {

// How often a slot is read again when its word changed under the read or says busy.
constexpr int kSlotRetries = 8;
// Ports read with one pread when a block is scanned (bounded buffer on the stack).
constexpr uint32_t kChunkSlots = 64;

struct RawSlot {
  uint64_t word = 0;
  uint32_t flags = 0;
  uint64_t job_id = 0;
  int64_t deadline_ms = 0;
};

RawSlot decode(const unsigned char* bytes) noexcept {
  RawSlot raw;
  std::memcpy(&raw.word, bytes + offsetof(Slot, word), sizeof raw.word);
  std::memcpy(&raw.flags, bytes + offsetof(Slot, flags), sizeof raw.flags);
  std::memcpy(&raw.job_id, bytes + offsetof(Slot, job_id), sizeof raw.job_id);
  std::memcpy(&raw.deadline_ms, bytes + offsetof(Slot, deadline_ms), sizeof raw.deadline_ms);
  return raw;
}

// What the table's own reap would decide (PortTable::reap_slot), read-only.
PortUse use_of(const RawSlot& raw, int64_t now_ms) noexcept {
  const SlotState state = slot_word::state(raw.word);
  const ProcessIdentity owner = slot_word::owner(raw.word);
  switch (state) {
    case SlotState::free:
    case SlotState::excluded:
      return PortUse::free;
    case SlotState::busy:
      return is_process_alive(owner) ? PortUse::claimed : PortUse::free;
    case SlotState::linger:
      return raw.deadline_ms > now_ms && is_process_alive(owner) ? PortUse::claimed : PortUse::free;
    case SlotState::bound:
    case SlotState::held: {
      if (is_process_alive(owner)) return PortUse::claimed;
      // A dead binder's unused port lingers for its live job (the reap would make it a linger).
      const bool used = state == SlotState::bound && (raw.flags & kSlotUsed) != 0;
      return !used && raw.job_id != 0 && is_process_alive(unpack_identity(raw.job_id)) ? PortUse::claimed
                                                                                     : PortUse::free;
    }
  }
  // A state this version does not know: someone wrote garbage; it claims nothing.
  return PortUse::free;
}

bool read_exact(int fd, void* out, size_t size, off_t offset) noexcept {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, static_cast<char*>(out) + done, size - done, offset + static_cast<off_t>(done));
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;  // EOF: truncated since it was opened
    }
  }
  return true;
}

}  // namespace

bool is_table_name(const std::string& name) noexcept {
  constexpr std::string_view prefix = "portsafe-";
  if (name.size() != prefix.size() + 16 || name.compare(0, prefix.size(), prefix) != 0) return false;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    const char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::optional<ForeignTable> ForeignTable::open(const std::string& name, uid_t uid, std::string& reason,
                                               OpenFailure* failure) {
  if (!is_table_name(name)) {
    reason = fmt::format("'{}' is not a portsafe table name", name);
    if (failure != nullptr) *failure = OpenFailure::gone;
    return std::nullopt;
  }
  return open_path(PortTable::shm_path(name), uid, reason, failure);
}

std::optional<ForeignTable> ForeignTable::open_path(const std::string& path, uid_t uid, std::string& reason,
                                                    OpenFailure* failure) {
  OpenFailure ignored = OpenFailure::none;
  OpenFailure& verdict = failure != nullptr ? *failure : ignored;
  // Definite answers only (the name is gone, or what is there is not that uid's table) say gone;
  // an error of ours (EMFILE, ENOMEM, EACCES...) or a short read says unknown.
  verdict = OpenFailure::gone;
  // O_NONBLOCK: a FIFO planted under the name must not block the daemon; O_NOFOLLOW: nor a link
  // lead it elsewhere.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    const int error = errno;
    reason = fmt::format("{}: {}", path, std::strerror(error));
    // ELOOP: a link planted under the name (O_NOFOLLOW): not a table either.
    if (error != ENOENT && error != ELOOP) verdict = OpenFailure::unknown;
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    reason = fmt::format("{}: fstat: {}", path, std::strerror(errno));
    verdict = OpenFailure::unknown;
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    reason = fmt::format("{} is not a regular file", path);
    return std::nullopt;
  }
  if (st.st_uid != uid || (st.st_mode & 0077) != 0) {
    reason = fmt::format("{} belongs to uid {} with mode {:o}, not a private table of uid {}", path, st.st_uid,
                         st.st_mode & 07777, uid);
    return std::nullopt;
  }
  alignas(TableHeader) unsigned char bytes[sizeof(TableHeader)];
  if (static_cast<size_t>(st.st_size) < kHeaderBytes) {
    // Cut short (by its owner: a removed table is ENOENT): what it still holds is unknown.
    reason = fmt::format("{} is truncated", path);
    verdict = OpenFailure::unknown;
    return std::nullopt;
  }
  if (!read_exact(fd.get(), bytes, sizeof bytes, 0)) {
    reason = fmt::format("{}: the header could not be read whole", path);
    verdict = OpenFailure::unknown;
    return std::nullopt;
  }
  TableHeader header;
  std::memcpy(static_cast<void*>(&header), bytes, sizeof header);
  std::string detail;
  if (const TableError error = check_table_header(header, static_cast<size_t>(st.st_size), detail);
      error != TableError::none) {
    reason = fmt::format("{} is not a valid table ({})", path, detail);
    // A header that is not a table's is definite; a size short of its geometry is a truncation,
    // and the slots before the cut may still be claimed in its owner's mappings.
    if (error == TableError::too_small || error == TableError::system) verdict = OpenFailure::unknown;
    return std::nullopt;
  }
  verdict = OpenFailure::none;
  return ForeignTable(std::move(fd), PortRange{header.range_low, header.range_high});
}

PortUse ForeignTable::port_use(Protocol proto, uint16_t port, int64_t now_ms) const noexcept {
  if (!range_.contains(port)) return PortUse::free;
  const uint32_t index = static_cast<uint32_t>(proto) * range_.size() + (port - range_.low);
  unsigned char bytes[sizeof(Slot)];
  RawSlot last;
  for (int attempt = 0; attempt < kSlotRetries; ++attempt) {
    if (!read_exact(fd_.get(), bytes, sizeof bytes, static_cast<off_t>(slot_offset(index)))) return PortUse::free;
    const RawSlot first = decode(bytes);
    uint64_t again = 0;
    if (!read_exact(fd_.get(), &again, sizeof again, static_cast<off_t>(slot_offset(index)))) return PortUse::free;
    last = first;
    if (again == first.word && slot_word::state(first.word) != SlotState::busy) return use_of(first, now_ms);
  }
  // Never settled: busy or changing under every read. A live owner keeps it.
  return is_process_alive(slot_word::owner(last.word)) ? PortUse::claimed : use_of(last, now_ms);
}

BlockUse ForeignTable::block_use(PortRange ports, int64_t now_ms) const noexcept {
  const uint16_t low = std::max(ports.low, range_.low);
  const uint16_t high = std::min(ports.high, range_.high);
  if (low > high) return BlockUse::idle;
  unsigned char chunk[kChunkSlots * sizeof(Slot)];
  for (int proto = 0; proto < kProtocolCount; ++proto) {
    for (uint32_t first = low; first <= high; first += kChunkSlots) {
      const uint32_t count = std::min<uint32_t>(kChunkSlots, high - first + 1);
      const uint32_t index = static_cast<uint32_t>(proto) * range_.size() + (first - range_.low);
      if (!read_exact(fd_.get(), chunk, count * sizeof(Slot), static_cast<off_t>(slot_offset(index)))) {
        return BlockUse::unknown;  // truncated since, or a read error: not a definite "gone"
      }
      for (uint32_t i = 0; i < count; ++i) {
        const RawSlot raw = decode(chunk + i * sizeof(Slot));
        const SlotState state = slot_word::state(raw.word);
        if (state == SlotState::free || state == SlotState::excluded) continue;
        // Something is there: one careful look (settled word, liveness).
        if (port_use(static_cast<Protocol>(proto), static_cast<uint16_t>(first + i), now_ms) == PortUse::claimed) {
          return BlockUse::in_use;
        }
      }
    }
  }
  return BlockUse::idle;
}

}  // namespace portsafe::host
