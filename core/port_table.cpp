#include "portsafe/port_table.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

namespace portsafe {
namespace bip = boost::interprocess;

namespace {

constexpr unsigned kStateShift = 61;
constexpr unsigned kGenerationShift = 53;
constexpr uint64_t kIdentityMask = (uint64_t{1} << kGenerationShift) - 1;
// How long a claimant waits for another live process to finish a transition (nanoseconds of
// work normally; the bound only matters when that process is preempted).
constexpr int kBusyRetries = 200;

uint64_t checksum_header(const TableHeader& header) noexcept {
  const auto* bytes = reinterpret_cast<const unsigned char*>(&header);
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < offsetof(TableHeader, checksum); ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

size_t segment_size_for(uint32_t slot_count) noexcept { return kHeaderBytes + size_t{slot_count} * sizeof(Slot); }

void store_name(std::atomic<uint64_t> (&dest)[kNameBytes / 8], const char* text) noexcept {
  char buf[kNameBytes] = {};
  if (text != nullptr) {
    for (size_t i = 0; i + 1 < kNameBytes && text[i] != '\0'; ++i) buf[i] = text[i];
  }
  for (size_t i = 0; i < kNameBytes / 8; ++i) {
    uint64_t chunk;
    std::memcpy(&chunk, buf + i * 8, 8);
    dest[i].store(chunk, std::memory_order_relaxed);
  }
}

// Acquire loads: names are read inside view_slot's seqlock read.
void load_name(const std::atomic<uint64_t> (&src)[kNameBytes / 8], char (&out)[kNameBytes]) noexcept {
  for (size_t i = 0; i < kNameBytes / 8; ++i) {
    const uint64_t chunk = src[i].load(std::memory_order_acquire);
    std::memcpy(out + i * 8, &chunk, 8);
  }
  out[kNameBytes - 1] = '\0';
}

std::string describe_error(TableError error, const std::string& name, const std::string& detail) {
  const std::string path = PortTable::shm_path(name);
  switch (error) {
    case TableError::missing:
      return fmt::format("port table {} does not exist", path);
    case TableError::system:
      return fmt::format("cannot open port table {}: {}", path, detail);
    case TableError::not_private:
      return fmt::format("port table {} {}", path, detail);
    default:
      return fmt::format(
          "port table {} is not a portsafe table this version can trust ({}); once no job runs, remove it with "
          "`portsafe gc --reset` (or rm {}) and it is recreated",
          path, detail, path);
  }
}

TableOpen fail(TableError error, const std::string& name, const std::string& detail) {
  TableOpen result;
  result.error = error;
  result.message = describe_error(error, name, detail);
  return result;
}

// Checks a mapped segment against everything its header claims.
TableError validate(const TableHeader& header, size_t actual_size, std::string& detail) {
  if (header.magic != kTableMagic) {
    detail = "bad magic";
    return TableError::bad_magic;
  }
  if (header.layout_version != kTableLayoutVersion) {
    detail = fmt::format("layout version {}, this portsafe reads {}", header.layout_version, kTableLayoutVersion);
    return TableError::wrong_version;
  }
  if (header.checksum != checksum_header(header)) {
    detail = "header checksum mismatch";
    return TableError::bad_checksum;
  }
  const uint32_t ports = header.range_high >= header.range_low ? header.range_high - header.range_low + 1u : 0u;
  if (header.header_size != kHeaderBytes || header.slot_size != sizeof(Slot) || ports == 0 ||
      header.range_low < kLowestAllowedPort || header.slot_count != ports * kProtocolCount ||
      header.segment_size != segment_size_for(header.slot_count)) {
    detail = "inconsistent geometry";
    return TableError::bad_geometry;
  }
  if (actual_size < header.segment_size) {
    detail = fmt::format("truncated: {} bytes of {}", actual_size, header.segment_size);
    return TableError::too_small;
  }
  if (std::memchr(header.socket_path, '\0', kSocketPathBytes) == nullptr) {
    detail = "socket path not terminated";
    return TableError::bad_geometry;
  }
  return TableError::none;
}

}  // namespace

TableError check_table_header(const TableHeader& header, size_t actual_size, std::string& detail) {
  return validate(header, actual_size, detail);
}

namespace {

// Table names are predictable and /dev/shm is shared: another user may have made the segment
// first, or widened its mode. Nobody trusts one that others can write. Only the owner uses a table
// as its own (open_or_create), though root may inspect users' tables (open_existing:
// portsafe-docker-proxy finds held ports that way).
enum class OwnerRule { mine, mine_or_root_inspecting };

bool is_private_segment(int fd, OwnerRule rule, const std::string& path, std::string& detail) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    detail = fmt::format("cannot be inspected: {}", std::strerror(errno));
    return false;
  }
  const uid_t me = ::geteuid();
  const unsigned mode = st.st_mode & 07777;
  if (st.st_uid != me && !(rule == OwnerRule::mine_or_root_inspecting && me == 0)) {
    detail = fmt::format("belongs to uid {} (mode {:o}), not to you: portsafe never trusts it; have its owner or root "
                         "remove it, or set PORTSAFE_RUNTIME_DIR to another directory",
                         st.st_uid, mode);
    return false;
  }
  if ((mode & 0077) != 0) {
    detail = fmt::format("has mode {:o}, open to other users: portsafe never trusts it; once no job runs, remove it "
                         "with `portsafe gc --reset` (or rm {}) and it is recreated 0600",
                         mode, path);
    return false;
  }
  return true;
}

// A runtime root's table is trusted only when it belongs to the root directory's owner, whoever
// inspects it: root looking at a user's root must not trust a segment a third user planted there.
bool is_segment_owned_by(int fd, uid_t owner, const std::string& path, std::string& detail) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    detail = fmt::format("cannot be inspected: {}", std::strerror(errno));
    return false;
  }
  const unsigned mode = st.st_mode & 07777;
  if (st.st_uid != owner) {
    detail = fmt::format("belongs to uid {} (mode {:o}), not to uid {} who owns its runtime directory: portsafe "
                         "never trusts it; have its owner or root remove it ({}), or set PORTSAFE_RUNTIME_DIR to "
                         "another directory",
                         st.st_uid, mode, owner, path);
    return false;
  }
  return is_private_segment(fd, OwnerRule::mine_or_root_inspecting, path, detail);
}

std::string temporary_name(const std::string& name) {
  std::random_device entropy;
  return fmt::format("{}.init-{}-{:08x}", name, ::getpid(), entropy());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
const char* protocol_name(Protocol proto) noexcept { return proto == Protocol::udp ? "udp" : "tcp"; }

std::optional<Protocol> parse_protocol(std::string_view text) noexcept {
  if (text == "tcp") return Protocol::tcp;
  if (text == "udp") return Protocol::udp;
  return std::nullopt;
}

const char* slot_state_name(SlotState state) noexcept {
  switch (state) {
    case SlotState::free: return "free";
    case SlotState::busy: return "busy";
    case SlotState::bound: return "bound";
    case SlotState::linger: return "linger";
    case SlotState::held: return "held";
    case SlotState::excluded: return "excluded";
  }
  return "unknown";
}

int64_t monotonic_ms() noexcept {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

namespace slot_word {
uint64_t make(SlotState state, uint8_t generation, const ProcessIdentity& owner) noexcept {
  return (static_cast<uint64_t>(state) << kStateShift) | (static_cast<uint64_t>(generation) << kGenerationShift) |
         (pack_identity(owner) & kIdentityMask);
}
SlotState state(uint64_t word) noexcept { return static_cast<SlotState>(word >> kStateShift); }
uint8_t generation(uint64_t word) noexcept { return static_cast<uint8_t>(word >> kGenerationShift); }
ProcessIdentity owner(uint64_t word) noexcept { return unpack_identity(word & kIdentityMask); }
}  // namespace slot_word

// ---------------------------------------------------------------------------------------------
std::string PortTable::shm_path(const std::string& name) { return "/dev/shm/" + name; }

TableOpen PortTable::open_existing(const std::string& name) { return open_segment(name, false); }

TableOpen PortTable::open_owned_by(const std::string& name, uid_t owner) { return open_segment(name, false, owner); }

TableOpen PortTable::open_segment(const std::string& name, bool own) { return open_segment(name, own, std::nullopt); }

TableOpen PortTable::open_segment(const std::string& name, bool own, std::optional<uid_t> owner) {
  try {
    bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_write);
    const OwnerRule rule = own ? OwnerRule::mine : OwnerRule::mine_or_root_inspecting;
    const int fd = shm.get_mapping_handle().handle;
    if (std::string detail; owner ? !is_segment_owned_by(fd, *owner, shm_path(name), detail)
                                  : !is_private_segment(fd, rule, shm_path(name), detail)) {
      return fail(TableError::not_private, name, detail);
    }
    bip::offset_t size = 0;
    if (!shm.get_size(size)) return fail(TableError::system, name, "cannot read its size");
    if (size < static_cast<bip::offset_t>(kHeaderBytes)) {
      return fail(TableError::too_small, name, fmt::format("truncated: {} bytes", size));
    }
    auto region = std::make_unique<bip::mapped_region>(shm, bip::read_write, 0, static_cast<size_t>(size));
    std::string detail;
    const auto* header = static_cast<const TableHeader*>(region->get_address());
    if (const TableError error = validate(*header, static_cast<size_t>(size), detail); error != TableError::none) {
      return fail(error, name, detail);
    }
    TableOpen result;
    result.table.reset(new PortTable(name, std::move(region)));
    return result;
  } catch (const bip::interprocess_exception& e) {
    if (e.get_native_error() == ENOENT) return fail(TableError::missing, name, e.what());
    return fail(TableError::system, name, e.what());
  }
}

TableOpen PortTable::open_or_create(const TableSpec& spec) {
  if (TableOpen existing = open_segment(spec.name, true); existing.error != TableError::missing) return existing;
  if (spec.socket_path.size() >= kSocketPathBytes) {
    return fail(TableError::system, spec.name,
                fmt::format("socket path {} is longer than {} bytes; use a shorter PORTSAFE_RUNTIME_DIR",
                            spec.socket_path, kSocketPathBytes - 1));
  }
  // Build the whole table under a private name, then link it into place: a crash at any point
  // leaves either no table or a complete one, and two creators end with one table.
  const std::string scratch = temporary_name(spec.name);
  const uint32_t slot_count = spec.range.size() * kProtocolCount;
  const size_t size = segment_size_for(slot_count);
  try {
    bip::permissions private_mode(0600);
    bip::shared_memory_object shm(bip::create_only, scratch.c_str(), bip::read_write, private_mode);
    ::fchmod(shm.get_mapping_handle().handle, 0600);  // independent of the umask
    shm.truncate(static_cast<bip::offset_t>(size));
    bip::mapped_region region(shm, bip::read_write, 0, size);
    auto* header = new (region.get_address()) TableHeader{};
    header->magic = kTableMagic;
    header->layout_version = kTableLayoutVersion;
    header->header_size = kHeaderBytes;
    header->slot_size = sizeof(Slot);
    header->slot_count = slot_count;
    header->range_low = spec.range.low;
    header->range_high = spec.range.high;
    header->default_linger_ms = spec.default_linger_ms;
    header->segment_size = size;
    std::memcpy(header->socket_path, spec.socket_path.c_str(), spec.socket_path.size() + 1);
    header->checksum = checksum_header(*header);
    auto* slots = reinterpret_cast<Slot*>(static_cast<char*>(region.get_address()) + kHeaderBytes);
    for (uint32_t i = 0; i < slot_count; ++i) new (&slots[i]) Slot{};
    std::vector<PortRange> excluded = spec.excluded;
    if (spec.exclude_ports_in_use) {
      const std::vector<PortRange> in_use = read_ports_in_use(spec.range);
      excluded.insert(excluded.end(), in_use.begin(), in_use.end());
    }
    for (const PortRange& reserved : excluded) {
      for (uint32_t port = std::max(reserved.low, spec.range.low); port <= std::min(reserved.high, spec.range.high);
           ++port) {
        for (int proto = 0; proto < kProtocolCount; ++proto) {
          const uint32_t index = static_cast<uint32_t>(proto) * spec.range.size() + (port - spec.range.low);
          slots[index].word.store(slot_word::make(SlotState::excluded, 0, ProcessIdentity{}));
        }
      }
    }
  } catch (const bip::interprocess_exception& e) {
    bip::shared_memory_object::remove(scratch.c_str());
    return fail(TableError::system, spec.name, e.what());
  }
  const int linked = ::link(shm_path(scratch).c_str(), shm_path(spec.name).c_str());
  const int link_errno = errno;
  bip::shared_memory_object::remove(scratch.c_str());
  if (linked != 0 && link_errno != EEXIST) {
    return fail(TableError::system, spec.name, fmt::format("publishing it failed: {}", std::strerror(link_errno)));
  }
  return open_segment(spec.name, true);
}

bool PortTable::remove(const std::string& name) { return bip::shared_memory_object::remove(name.c_str()); }

PortTable::PortTable(std::string name, std::unique_ptr<bip::mapped_region> region)
    : name_(std::move(name)), region_(std::move(region)) {
  header_ = static_cast<TableHeader*>(region_->get_address());
  slots_ = reinterpret_cast<Slot*>(static_cast<char*>(region_->get_address()) + kHeaderBytes);
  slot_count_ = header_->slot_count;
  range_ = PortRange{header_->range_low, header_->range_high};
}

PortTable::~PortTable() = default;

PortRange PortTable::range() const noexcept { return range_; }
std::string PortTable::socket_path() const { return header_->socket_path; }
uint32_t PortTable::default_linger_ms() const noexcept { return header_->default_linger_ms; }
Slot& PortTable::slot(uint32_t index) const noexcept { return slots_[index]; }

std::optional<uint32_t> PortTable::index_of(Protocol proto, uint16_t port) const noexcept {
  if (!range_.contains(port)) return std::nullopt;
  return static_cast<uint32_t>(proto) * range_.size() + (port - range_.low);
}

// ---------------------------------------------------------------------------------------------
// Transitions. take_busy makes the caller the slot's exclusive writer; publish ends the write
// with a new generation, so readers and later CASes can tell any two claims apart.
bool PortTable::take_busy(uint32_t index, uint64_t expected, const ProcessIdentity& me) noexcept {
  const uint64_t busy = slot_word::make(SlotState::busy, slot_word::generation(expected), me);
  return slot(index).word.compare_exchange_strong(expected, busy, std::memory_order_acq_rel,
                                                  std::memory_order_relaxed);
}

uint64_t PortTable::publish(uint32_t index, uint64_t busy_word, SlotState state,
                            const ProcessIdentity& owner) noexcept {
  const auto next_generation = static_cast<uint8_t>(slot_word::generation(busy_word) + 1);
  const uint64_t word = slot_word::make(state, next_generation, owner);
  slot(index).word.store(word, std::memory_order_release);
  return word;
}

bool PortTable::claim_slot(uint32_t index, uint64_t expected, const Claimant& who, SlotState target,
                           SlotRef& out) noexcept {
  if (!take_busy(index, expected, who.process)) return false;
  Slot& s = slot(index);
  s.flags.store(0, std::memory_order_relaxed);
  s.pid.store(who.process.pid, std::memory_order_relaxed);
  s.job_id.store(who.job_id, std::memory_order_relaxed);
  s.linger_ms.store(who.linger_ms, std::memory_order_relaxed);
  s.deadline_ms.store(0, std::memory_order_relaxed);
  s.since_ms.store(monotonic_ms(), std::memory_order_relaxed);
  store_name(s.job_name, who.job_name);
  store_name(s.label, who.label);
  const uint64_t busy = slot(index).word.load(std::memory_order_relaxed);
  out = SlotRef{index, publish(index, busy, target, who.process)};
  header_->claims_made.fetch_add(1, std::memory_order_relaxed);
  return true;
}

SlotRef PortTable::claim_any(Protocol proto, PortRange within, uint32_t start_offset, const Claimant& who,
                             SlotState target) noexcept {
  const uint16_t low = std::max(within.low, range_.low);
  const uint16_t high = std::min(within.high, range_.high);
  if (low > high) return {};
  const uint32_t count = static_cast<uint32_t>(high) - low + 1;
  const int64_t now = monotonic_ms();
  for (uint32_t i = 0; i < count; ++i) {
    const auto port = static_cast<uint16_t>(low + (start_offset + i) % count);
    const uint32_t index = *index_of(proto, port);
    uint64_t word = slot(index).word.load(std::memory_order_acquire);
    const SlotState state = slot_word::state(word);
    // An expired linger is reclaimed on the way: it costs a clock comparison, no /proc read.
    if (state == SlotState::linger && slot(index).deadline_ms.load(std::memory_order_relaxed) <= now &&
        reap_slot(index, now)) {
      word = slot(index).word.load(std::memory_order_acquire);
    }
    if (slot_word::state(word) != SlotState::free) continue;
    SlotRef ref;
    if (claim_slot(index, word, who, target, ref)) {
      header_->picks.fetch_add(1, std::memory_order_relaxed);
      return ref;
    }
  }
  return {};
}

namespace {

// A linger a pick may take over, as the pick saw it (the claim CAS checks it is still so).
struct Candidate {
  uint32_t index = UINT32_MAX;
  uint64_t word = 0;
  uint32_t step = 0;  // how far past the pick's cursor position
  bool found() const noexcept { return index != UINT32_MAX; }
};

void advance_cursor(std::atomic<uint64_t>& cursor, uint64_t past) noexcept {
  uint64_t seen = cursor.load(std::memory_order_relaxed);
  while (seen < past && !cursor.compare_exchange_weak(seen, past, std::memory_order_relaxed)) {
  }
}

}  // namespace

PickResult PortTable::pick(Protocol proto, PortRange within, const Claimant& who, SlotState target) noexcept {
  const PortSpans spans{&within, 1};
  return pick_in(proto, spans, who, target, PickMode::give_way);
}

namespace {

// Walks the ports of several ranges as one sequence, from any position, wrapping around: the
// pick's scan costs O(1) per port however many blocks an account has.
class SpanWalk {
 public:
  SpanWalk(const PortRange* clipped, uint32_t spans, uint32_t total, uint64_t start) noexcept
      : ranges_(clipped), spans_(spans) {
    uint32_t offset = static_cast<uint32_t>(start % total);
    while (offset >= ranges_[span_].size()) {
      offset -= ranges_[span_].size();
      ++span_;
    }
    offset_ = offset;
  }
  uint16_t port() const noexcept { return static_cast<uint16_t>(ranges_[span_].low + offset_); }
  void next() noexcept {
    if (++offset_ < ranges_[span_].size()) return;
    offset_ = 0;
    span_ = span_ + 1 < spans_ ? span_ + 1 : 0;
  }

 private:
  const PortRange* ranges_;
  uint32_t spans_;
  uint32_t span_ = 0;
  uint32_t offset_ = 0;
};

}  // namespace

PickResult PortTable::pick_in(Protocol proto, const PortSpans& spans, const Claimant& who, SlotState target,
                              PickMode mode) noexcept {
  PickResult result;
  // The spans clipped to the table (empty ones left out), on the stack: no allocation.
  PortRange clipped[PortSpans::kMaxSpans];
  uint32_t span_count = 0;
  uint32_t count = 0;
  for (uint32_t i = 0; i < spans.count && i < PortSpans::kMaxSpans; ++i) {
    const uint16_t low = std::max(spans.ranges[i].low, range_.low);
    const uint16_t high = std::min(spans.ranges[i].high, range_.high);
    if (low > high) continue;
    clipped[span_count++] = PortRange{low, high};
    count += clipped[span_count - 1].size();
  }
  if (count == 0) return result;
  const bool give_way = mode == PickMode::give_way;
  std::atomic<uint64_t>& cursor = header_->pick_cursor[static_cast<int>(proto)];
  for (int attempt = 0; attempt < kBusyRetries; ++attempt) {
    const int64_t now = monotonic_ms();
    const auto first_fresh = static_cast<uint32_t>(header_->lingers_made.load(std::memory_order_acquire));
    // Each pick starts one further on: concurrent pickers start apart, and the port at the
    // cursor is the one the range's round last passed longest ago.
    const uint64_t start = cursor.fetch_add(1, std::memory_order_relaxed);
    Candidate old_own, old_other, young_own, young_other;
    int64_t young_own_began = 0;
    int64_t young_other_began = 0;
    uint32_t unavailable = 0;
    uint32_t fresh_own = 0;
    bool scanned_all = true;
    SpanWalk walk(clipped, span_count, count, start);
    for (uint32_t step = 0; step < count; ++step, walk.next()) {
      if (step >= kPickWindow && (old_own.found() || old_other.found() || young_own.found() || young_other.found())) {
        scanned_all = false;
        break;
      }
      const uint32_t index = *index_of(proto, walk.port());
      Slot& s = slot(index);
      uint64_t word = s.word.load(std::memory_order_acquire);
      if (slot_word::state(word) == SlotState::linger && s.deadline_ms.load(std::memory_order_relaxed) <= now &&
          reap_slot(index, now)) {
        word = s.word.load(std::memory_order_acquire);
      }
      const SlotState state = slot_word::state(word);
      if (state == SlotState::free) {
        if (claim_slot(index, word, who, target, result.ref)) {
          advance_cursor(cursor, start + step + 1);
          header_->picks.fetch_add(1, std::memory_order_relaxed);
          return result;
        }
        continue;  // another picker won it: look further
      }
      if (state != SlotState::linger || !give_way) {
        ++unavailable;
        continue;
      }
      // The linger began when its socket closed (or its binder died): deadline - linger time.
      const int64_t began = s.deadline_ms.load(std::memory_order_relaxed) - s.linger_ms.load(std::memory_order_relaxed);
      const bool own = who.job_id != 0 && s.job_id.load(std::memory_order_relaxed) == who.job_id;
      if (s.word.load(std::memory_order_acquire) != word) continue;  // changed while we read it
      if (static_cast<int32_t>(s.linger_seq.load(std::memory_order_relaxed) - first_fresh) >= 0) {
        // Closed after this pick began (a scan that lagged behind another picker's): its number
        // is on its way to its re-bind. It counts as taken.
        ++unavailable;
        if (own) ++fresh_own;
        continue;
      }
      if (now - began < kMinLingerAgeMs) {
        // Only when nothing older is in sight: then the one whose number went out longest ago,
        // the job's own before another job's (whose number may be on its way to a server).
        Candidate& young = own ? young_own : young_other;
        int64_t& young_began = own ? young_own_began : young_other_began;
        if (!young.found() || began < young_began) {
          young = Candidate{index, word, step};
          young_began = began;
        }
        continue;
      }
      Candidate& slot_for = own ? old_own : old_other;
      if (!slot_for.found()) slot_for = Candidate{index, word, step};
    }
    const Candidate chosen = old_own.found()     ? old_own
                             : old_other.found() ? old_other
                             : young_own.found() ? young_own
                                                 : young_other;
    // A pick preempted between its start and its scan finds the job's own lingers all begun
    // after it (the job went on churning): that view is stale, and it must not make another
    // job's young number, or a fallback, look like the only choice. Look again from now.
    const bool stale = fresh_own > 0 && attempt + 1 < kBusyRetries;
    if (!chosen.found()) {
      if (!scanned_all || stale) continue;
      result.unavailable = unavailable;
      return result;
    }
    if (stale && !old_own.found() && !old_other.found() && !young_own.found()) continue;  // young_other
    if (claim_slot(chosen.index, chosen.word, who, target, result.ref)) {
      advance_cursor(cursor, start + chosen.step + 1);
      header_->picks.fetch_add(1, std::memory_order_relaxed);
      const bool was_young = !old_own.found() && !old_other.found();
      (was_young ? header_->young_lingers_given_way : header_->lingers_given_way).fetch_add(1, std::memory_order_relaxed);
      result.gave_way = true;
      return result;
    }
    // Its owner took it back or another picker won it: look again.
  }
  return result;
}

PortClaim PortTable::claim_port(Protocol proto, uint16_t port, const Claimant& who, SlotState target) noexcept {
  PortClaim claim;
  const auto index = index_of(proto, port);
  if (!index) return claim;
  for (int attempt = 0; attempt < kBusyRetries; ++attempt) {
    const uint64_t word = slot(*index).word.load(std::memory_order_acquire);
    const SlotState state = slot_word::state(word);
    if (state == SlotState::excluded) {
      claim.result = ClaimResult::excluded;
      return claim;
    }
    if (state == SlotState::free) {
      if (claim_slot(*index, word, who, target, claim.ref)) {
        claim.result = ClaimResult::claimed;
        return claim;
      }
      continue;
    }
    if (state == SlotState::busy) {
      if (!reap_slot(*index, monotonic_ms())) ::sched_yield();
      continue;
    }
    const auto seen = view_slot(*index);
    if (seen.state == SlotState::busy || seen.state == SlotState::free) continue;  // changed under us
    const bool same_job = seen.job_id == who.job_id && who.job_id != 0;
    if (same_job && seen.state == SlotState::linger) {
      if (claim_slot(*index, word, who, target, claim.ref)) {
        claim.result = ClaimResult::claimed;
        claim.took_over_linger = true;
        claim.lingered = seen;
        return claim;
      }
      continue;
    }
    if (reap_slot(*index, monotonic_ms())) continue;  // its owner was dead or its linger over
    claim.holder = seen;
    if (same_job) {
      claim.result = seen.state == SlotState::held ? ClaimResult::own_held : ClaimResult::own_claim;
    } else {
      claim.result = ClaimResult::other_job;
    }
    return claim;
  }
  // A live process kept the slot busy through every retry: report it as taken rather than wait.
  claim.holder = view_slot(*index);
  claim.result = ClaimResult::other_job;
  return claim;
}

void PortTable::mark_used(const SlotRef& ref) noexcept {
  if (!ref.valid()) return;
  Slot& s = slot(ref.index);
  if (s.word.load(std::memory_order_acquire) != ref.word) return;
  // Servers mark on every accept or datagram: a plain load keeps the slot's line shared once set.
  if ((s.flags.load(std::memory_order_relaxed) & kSlotUsed) != 0) return;
  s.flags.fetch_or(kSlotUsed, std::memory_order_release);
}

bool PortTable::awaits_use(const SlotRef& ref) const noexcept {
  if (!ref.valid()) return false;
  const Slot& s = slot(ref.index);
  return s.word.load(std::memory_order_acquire) == ref.word && (s.flags.load(std::memory_order_relaxed) & kSlotUsed) == 0;
}

bool PortTable::release(const SlotRef& ref, const ProcessIdentity& me, int64_t now_ms) noexcept {
  if (!ref.valid() || slot_word::owner(ref.word) != unpack_identity(pack_identity(me))) return false;
  if (slot_word::state(ref.word) != SlotState::bound) return drop(ref, me);
  Slot& s = slot(ref.index);
  const bool used = (s.flags.load(std::memory_order_acquire) & kSlotUsed) != 0;
  const uint64_t job = s.job_id.load(std::memory_order_relaxed);
  if (used || job == 0) return drop(ref, me);
  if (!take_busy(ref.index, ref.word, me)) return false;
  s.deadline_ms.store(now_ms + s.linger_ms.load(std::memory_order_relaxed), std::memory_order_relaxed);
  s.linger_seq.store(next_linger_seq(), std::memory_order_relaxed);
  publish(ref.index, s.word.load(std::memory_order_relaxed), SlotState::linger, unpack_identity(job));
  return true;
}

uint32_t PortTable::next_linger_seq() noexcept {
  return static_cast<uint32_t>(header_->lingers_made.fetch_add(1, std::memory_order_relaxed));
}

bool PortTable::drop(const SlotRef& ref, const ProcessIdentity& me) noexcept {
  if (!ref.valid() || slot_word::owner(ref.word) != unpack_identity(pack_identity(me))) return false;
  if (!take_busy(ref.index, ref.word, me)) return false;
  publish(ref.index, slot(ref.index).word.load(std::memory_order_relaxed), SlotState::free, ProcessIdentity{});
  return true;
}

bool PortTable::restore_linger(const PortClaim& claim, const ProcessIdentity& me) noexcept {
  if (!claim.took_over_linger) return drop(claim.ref, me);
  const SlotRef& ref = claim.ref;
  if (!ref.valid() || slot_word::owner(ref.word) != unpack_identity(pack_identity(me))) return false;
  if (!take_busy(ref.index, ref.word, me)) return false;
  // Everything "who holds this port?" shows goes back to the linger's own values.
  const SlotView& was = claim.lingered;
  Slot& s = slot(ref.index);
  s.flags.store(was.flags, std::memory_order_relaxed);
  s.pid.store(was.pid, std::memory_order_relaxed);
  s.job_id.store(was.job_id, std::memory_order_relaxed);
  s.deadline_ms.store(was.deadline_ms, std::memory_order_relaxed);
  s.since_ms.store(was.since_ms, std::memory_order_relaxed);
  store_name(s.job_name, was.job_name);
  store_name(s.label, was.label);
  publish(ref.index, s.word.load(std::memory_order_relaxed), SlotState::linger, was.owner);
  return true;
}

bool PortTable::set_label(SlotRef& ref, const ProcessIdentity& me, const char* label) noexcept {
  if (!ref.valid() || slot_word::owner(ref.word) != unpack_identity(pack_identity(me))) return false;
  if (!take_busy(ref.index, ref.word, me)) return false;
  store_name(slot(ref.index).label, label);
  ref.word = publish(ref.index, slot(ref.index).word.load(std::memory_order_relaxed), slot_word::state(ref.word),
                     slot_word::owner(ref.word));
  return true;
}

SlotRef PortTable::ref_of(Protocol proto, uint16_t port) const noexcept {
  const auto index = index_of(proto, port);
  if (!index) return {};
  return SlotRef{*index, slot(*index).word.load(std::memory_order_acquire)};
}

// ---------------------------------------------------------------------------------------------
SlotView PortTable::view_slot(uint32_t index) const noexcept {
  SlotView view;
  const Slot& s = slot(index);
  // A seqlock read: every field load is an acquire, so the closing re-read of the word cannot be
  // ordered before any of them (what a relaxed load + acquire fence would say, in a form TSan
  // models; GCC refuses atomic_thread_fence under -fsanitize=thread). Free on x86.
  constexpr auto acquire = std::memory_order_acquire;
  for (int attempt = 0; attempt < kBusyRetries; ++attempt) {
    const uint64_t before = s.word.load(acquire);
    view.state = slot_word::state(before);
    view.owner = slot_word::owner(before);
    view.flags = s.flags.load(acquire);
    view.pid = s.pid.load(acquire);
    view.job_id = s.job_id.load(acquire);
    view.deadline_ms = s.deadline_ms.load(acquire);
    view.since_ms = s.since_ms.load(acquire);
    load_name(s.job_name, view.job_name);
    load_name(s.label, view.label);
    if (view.state != SlotState::busy && s.word.load(std::memory_order_relaxed) == before) break;
  }
  const uint32_t per_proto = range_.size();
  view.proto = index >= per_proto ? Protocol::udp : Protocol::tcp;
  view.port = static_cast<uint16_t>(range_.low + index % per_proto);
  return view;
}

std::optional<SlotView> PortTable::view(Protocol proto, uint16_t port) const noexcept {
  const auto index = index_of(proto, port);
  if (!index) return std::nullopt;
  return view_slot(*index);
}

bool PortTable::reap_slot(uint32_t index, int64_t now_ms) noexcept {
  Slot& s = slot(index);
  const uint64_t word = s.word.load(std::memory_order_acquire);
  const SlotState state = slot_word::state(word);
  const ProcessIdentity owner = slot_word::owner(word);
  SlotState next = SlotState::free;
  ProcessIdentity next_owner{};
  switch (state) {
    case SlotState::free:
    case SlotState::excluded:
      return false;
    case SlotState::busy:
      if (is_process_alive(owner)) return false;
      break;
    case SlotState::linger: {
      // Acquire, so the word's re-read below is not ordered before it (a seqlock read).
      const int64_t deadline = s.deadline_ms.load(std::memory_order_acquire);
      if (s.word.load(std::memory_order_acquire) != word) return false;
      if (deadline > now_ms && is_process_alive(owner)) return false;
      break;
    }
    case SlotState::held:
    case SlotState::bound: {
      if (is_process_alive(owner)) return false;
      // A dead binder's unused port may have been handed on, and a dead (SIGKILLed) supervisor's
      // hold stays its live job's until the job's launcher holds it again through a new one:
      // either lingers for the job, which the same job takes over and the job's end frees. A
      // port its binder really used is simply free.
      const uint64_t job = s.job_id.load(std::memory_order_relaxed);
      const bool used = state == SlotState::bound && (s.flags.load(std::memory_order_relaxed) & kSlotUsed) != 0;
      if (!used && job != 0 && is_process_alive(unpack_identity(job))) {
        next = SlotState::linger;
        next_owner = unpack_identity(job);
      }
      break;
    }
  }
  const ProcessIdentity me = read_own_identity();
  if (!take_busy(index, word, me)) return false;
  if (next == SlotState::linger) {
    s.deadline_ms.store(now_ms + s.linger_ms.load(std::memory_order_relaxed), std::memory_order_relaxed);
    s.linger_seq.store(next_linger_seq(), std::memory_order_relaxed);
  } else {
    header_->reaped.fetch_add(1, std::memory_order_relaxed);
  }
  publish(index, s.word.load(std::memory_order_relaxed), next, next_owner);
  return true;
}

size_t PortTable::reap(int64_t now_ms) noexcept {
  size_t changed = 0;
  for (uint32_t i = 0; i < slot_count_; ++i) {
    if (reap_slot(i, now_ms)) ++changed;
  }
  return changed;
}

std::vector<SlotView> PortTable::list() const {
  std::vector<SlotView> views;
  for (uint32_t i = 0; i < slot_count_; ++i) {
    const SlotState state = slot_word::state(slot(i).word.load(std::memory_order_acquire));
    if (state == SlotState::free || state == SlotState::excluded) continue;
    views.push_back(view_slot(i));
  }
  return views;
}

void PortTable::collect_owners(std::vector<uint64_t>& owners, uint32_t (&in_use)[kProtocolCount]) const {
  const uint32_t per_proto = range_.size();
  for (uint32_t& count : in_use) count = 0;
  for (uint32_t i = 0; i < slot_count_; ++i) {
    const uint64_t word = slot(i).word.load(std::memory_order_acquire);
    const SlotState state = slot_word::state(word);
    if (state == SlotState::free || state == SlotState::excluded) continue;
    ++in_use[i / per_proto];
    owners.push_back(word & kIdentityMask);
    // A claim's job leader too: its end turns the claim's later linger free (same cache line).
    if (const uint64_t job = slot(i).job_id.load(std::memory_order_relaxed); job != 0) owners.push_back(job);
  }
}

size_t PortTable::reap_owned_by(const std::vector<uint64_t>& dead, int64_t now_ms) noexcept {
  size_t changed = 0;
  for (uint32_t i = 0; i < slot_count_; ++i) {
    const uint64_t word = slot(i).word.load(std::memory_order_acquire);
    const SlotState state = slot_word::state(word);
    if (state == SlotState::free || state == SlotState::excluded) continue;
    if (!std::binary_search(dead.begin(), dead.end(), word & kIdentityMask)) continue;
    // A dead binder's slot may turn into a linger owned by its job's leader, dead as well: one
    // more look finishes it (reap_slot is a no-op once nothing is left to reclaim).
    for (int pass = 0; pass < 2 && reap_slot(i, now_ms); ++pass) ++changed;
  }
  return changed;
}

void PortTable::count_fallback() noexcept { header_->fallbacks.fetch_add(1, std::memory_order_relaxed); }
void PortTable::count_full_range() noexcept { header_->full_range_events.fetch_add(1, std::memory_order_relaxed); }

void PortTable::note_ports_needed(uint64_t ports, const char* job_name) noexcept {
  uint64_t seen = header_->ports_needed.load(std::memory_order_relaxed);
  while (seen < ports) {
    if (header_->ports_needed.compare_exchange_weak(seen, ports, std::memory_order_relaxed)) {
      store_name(header_->ports_needed_job, job_name);
      return;
    }
  }
}

void PortTable::note_in_use(uint64_t ports) noexcept {
  uint64_t seen = header_->peak_in_use.load(std::memory_order_relaxed);
  while (seen < ports && !header_->peak_in_use.compare_exchange_weak(seen, ports, std::memory_order_relaxed)) {
  }
}

uint64_t PortTable::claims_made() const noexcept { return header_->claims_made.load(std::memory_order_relaxed); }

TableCounters PortTable::counters() const noexcept {
  TableCounters c;
  c.picks = header_->picks.load();
  c.fallbacks = header_->fallbacks.load();
  c.full_range_events = header_->full_range_events.load();
  c.reaped = header_->reaped.load();
  c.lingers_given_way = header_->lingers_given_way.load();
  c.young_lingers_given_way = header_->young_lingers_given_way.load();
  c.claims_made = header_->claims_made.load();
  c.peak_in_use = header_->peak_in_use.load();
  c.ports_needed = header_->ports_needed.load();
  load_name(header_->ports_needed_job, c.ports_needed_job);
  return c;
}

}  // namespace portsafe
