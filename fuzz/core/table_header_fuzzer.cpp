// libFuzzer target for the table header check: any process of the user can write /dev/shm, and a
// crashed or older portsafe may leave anything there, so PortTable::open_existing must refuse a
// segment it cannot trust (one line naming the fix) or accept one whose every later use is safe.
//
// Input: byte 0 chooses mutations that let the fuzzer get past the cheap checks; the rest is the
// segment's content.
//   bit 0: recompute the header checksum (so geometry and truncation checks are reached)
//   bit 1: grow the segment to the size its header claims (capped), as a well-formed table would be
//   bit 2: when accepted, also claim and release a port and reap, over whatever the slots hold
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "portsafe/port_table.hpp"
#include "portsafe/process_identity.hpp"

namespace {

using namespace portsafe;

// Small enough that a claim scanning every slot stays fast (each slot may read /proc).
constexpr size_t kMaxSegment = 64 * 1024;

// The header checksum as the table defines it: FNV-1a over every byte before the checksum field.
uint64_t header_checksum(const uint8_t* bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < offsetof(TableHeader, checksum); ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

const std::string& segment_name() {
  static const std::string name = fmt::format("portsafe-fuzz-{}", ::getpid());
  return name;
}

std::vector<uint8_t> build_segment(uint8_t mode, const uint8_t* data, size_t size) {
  std::vector<uint8_t> segment(data, data + size);
  constexpr size_t kChecksumEnd = offsetof(TableHeader, checksum) + sizeof(uint64_t);
  if ((mode & 2) != 0 && segment.size() >= offsetof(TableHeader, segment_size) + sizeof(uint64_t)) {
    uint64_t claimed = 0;
    std::memcpy(&claimed, segment.data() + offsetof(TableHeader, segment_size), sizeof claimed);
    if (claimed > segment.size() && claimed <= kMaxSegment) segment.resize(claimed, 0);
  }
  if ((mode & 1) != 0 && segment.size() >= kChecksumEnd) {
    const uint64_t sum = header_checksum(segment.data());
    std::memcpy(segment.data() + offsetof(TableHeader, checksum), &sum, sizeof sum);
  }
  return segment;
}

bool write_segment(const std::vector<uint8_t>& segment) {
  const std::string path = PortTable::shm_path(segment_name());
  ::unlink(path.c_str());
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < segment.size()) {
    const ssize_t n = ::write(fd, segment.data() + done, segment.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return done == segment.size();
}

// An accepted table must fit in the segment: reading past its end may not fault (the next pages
// are often mapped by something else), so this is checked directly, not left to a crash.
void use_accepted(PortTable& table, size_t segment_size, bool operate) {
  if (kHeaderBytes + size_t{table.slot_count()} * sizeof(Slot) > segment_size) std::abort();
  const PortRange range = table.range();
  if (range.low < kLowestAllowedPort || range.low > range.high) std::abort();
  if (table.slot_count() != range.size() * kProtocolCount) std::abort();
  if (table.socket_path().size() >= kSocketPathBytes) std::abort();
  for (const SlotView& view : table.list()) {
    if (!range.contains(view.port)) std::abort();
  }
  (void)table.view(Protocol::udp, range.high);
  (void)table.counters();
  if (!operate) return;
  table.reap(monotonic_ms());
  Claimant me;
  me.process = read_own_identity();
  me.job_id = pack_identity(me.process);
  const SlotRef ref = table.claim_any(Protocol::tcp, range, 0, me);
  if (ref.valid()) table.release(ref, me.process, monotonic_ms());
  const PortClaim claim = table.claim_port(Protocol::udp, range.low, me);
  if (claim.result == ClaimResult::claimed) table.drop(claim.ref, me.process);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size - 1 > kMaxSegment) return 0;
  const uint8_t mode = data[0];
  const std::vector<uint8_t> segment = build_segment(mode, data + 1, size - 1);
  if (!write_segment(segment)) return 0;
  TableOpen opened = PortTable::open_existing(segment_name());
  if (opened.table) {
    if (opened.error != TableError::none) std::abort();
    use_accepted(*opened.table, segment.size(), (mode & 4) != 0);
  } else {
    // Refused: with a reason, on one line (tools print it as their one-line message).
    if (opened.error == TableError::none || opened.message.empty()) std::abort();
    if (opened.message.find('\n') != std::string::npos) std::abort();
  }
  opened.table.reset();
  PortTable::remove(segment_name());
  return 0;
}
