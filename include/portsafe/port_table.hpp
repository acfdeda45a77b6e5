// The shared port table: one fixed-width slot per port per protocol in a POSIX shared-memory
// segment, changed only by compare-and-swap. There is no interprocess lock: a process killed at
// any instruction leaves at worst a slot whose owner is dead, and anyone may reclaim that.
//
// A slot's 64-bit word holds its state, a generation and the owner's identity (pid + start time).
// Every change of the other fields happens while the word says "busy" with the writer as owner,
// so a reader that sees the same word before and after reading the fields saw a consistent slot.
//
// Lifecycle (see README "Guarantees"):
//   free -> bound   a process bound the port (port 0 picked by the shim, or an explicit port)
//   bound -> free   closed after real use (a connection accepted or made, a datagram sent or
//                   received): the port is free again
//   bound -> linger closed, or the process died, without real use: the number may have been handed
//                   on, so the job keeps it for its linger time (default 60 s). Bound and listened
//                   on is not use: `new ServerSocket(0)`, portpicker's TCP probe only learn a number.
//   linger -> bound a process of the same job binds the lingering port
//   bound -> linger that takeover's bind failed: the linger is given back, deadline unchanged
//                   (restore_linger)
//   free -> held    the supervisor holds it for a job (a placeholder socket)
//   held -> linger  the supervisor died while the job lives: the job keeps the port until its
//                   launcher holds it again through a new supervisor (linger -> held)
//   any -> free     the owner (process, job leader or supervisor) is dead, or a linger expired
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
#include "portsafe/process_identity.hpp"

namespace boost::interprocess {
class mapped_region;
}

namespace portsafe {

enum class Protocol : uint8_t { tcp = 0, udp = 1 };
inline constexpr int kProtocolCount = 2;
const char* protocol_name(Protocol proto) noexcept;
std::optional<Protocol> parse_protocol(std::string_view text) noexcept;

enum class SlotState : uint8_t { free = 0, busy = 1, bound = 2, linger = 3, held = 4, excluded = 5 };
const char* slot_state_name(SlotState state) noexcept;

// flags: the port served a connection, made one, or carried a datagram (the shim decides).
inline constexpr uint32_t kSlotUsed = 1u;

inline constexpr uint64_t kTableMagic = 0x4546415354524f50ull;  // "PORTSAFE" little-endian
inline constexpr uint32_t kTableLayoutVersion = 1;
inline constexpr size_t kNameBytes = 32;
inline constexpr size_t kSocketPathBytes = 108;
inline constexpr uint32_t kDefaultLingerMs = 60'000;
// A linger this young never gives way to another pick while an older one, or a free port, is
// left: a number handed on a moment ago is about to be bound by its real user.
inline constexpr int64_t kMinLingerAgeMs = 1'000;
// How many ports past the shared cursor a pick looks at before a linger gives way.
inline constexpr uint32_t kPickWindow = 16;

// The owner word: state (3 bits) | generation (8 bits) | packed identity (53 bits).
namespace slot_word {
uint64_t make(SlotState state, uint8_t generation, const ProcessIdentity& owner) noexcept;
SlotState state(uint64_t word) noexcept;
uint8_t generation(uint64_t word) noexcept;
ProcessIdentity owner(uint64_t word) noexcept;
}  // namespace slot_word

struct alignas(128) Slot {
  std::atomic<uint64_t> word;
  std::atomic<uint32_t> flags;
  std::atomic<uint32_t> pid;  // the process that bound it last (for "who holds this port?")
  std::atomic<uint64_t> job_id;
  std::atomic<uint32_t> linger_ms;
  // When the current linger began, in the table's order of lingers (TableHeader::lingers_made):
  // a pick never takes a linger that began after the pick did (it was once an unused field).
  std::atomic<uint32_t> linger_seq;
  std::atomic<int64_t> deadline_ms;  // linger ends (CLOCK_MONOTONIC ms)
  std::atomic<int64_t> since_ms;     // when the current claim began
  std::atomic<uint64_t> job_name[kNameBytes / 8];
  std::atomic<uint64_t> label[kNameBytes / 8];  // a held port's name, a proxy's target
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "slot words need lock-free 64-bit atomics");
static_assert(std::atomic<uint32_t>::is_always_lock_free && std::atomic<int64_t>::is_always_lock_free);
static_assert(sizeof(Slot) == 128);

struct TableHeader {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t header_size;
  uint32_t slot_size;
  uint32_t slot_count;
  uint16_t range_low;
  uint16_t range_high;
  uint32_t default_linger_ms;
  uint64_t segment_size;
  char socket_path[kSocketPathBytes];
  uint32_t reserved;
  uint64_t checksum;  // FNV-1a of every byte above
  // Counters (not checksummed): what `portsafe status` reports.
  std::atomic<uint64_t> picks;
  std::atomic<uint64_t> fallbacks;
  std::atomic<uint64_t> full_range_events;
  std::atomic<uint64_t> reaped;
  // Added in place of unused header bytes (zero in a segment an older portsafe made, which is
  // what each one starts from), so the layout version stays.
  std::atomic<uint64_t> pick_cursor[kProtocolCount];  // round-robin position of port-0 picks
  std::atomic<uint64_t> lingers_given_way;            // lingers at least kMinLingerAgeMs old taken by a pick
  std::atomic<uint64_t> young_lingers_given_way;      // younger ones, taken because nothing else was left
  std::atomic<uint64_t> claims_made;                  // every claim: the supervisor's cue to watch new owners
  std::atomic<uint64_t> peak_in_use;                  // most ports of one protocol in use at once (sampled)
  std::atomic<uint64_t> ports_needed;                 // most ports a job needed when its picks fell back
  std::atomic<uint64_t> ports_needed_job[kNameBytes / 8];  // that job's name
  std::atomic<uint64_t> lingers_made;                 // every linger begun (Slot::linger_seq)
};
inline constexpr size_t kHeaderBytes = 512;
static_assert(sizeof(TableHeader) <= kHeaderBytes);
// The black-box tests read the counters at these offsets (tests/shim/shimlib.py).
static_assert(offsetof(TableHeader, picks) == 160 && offsetof(TableHeader, pick_cursor) == 192 &&
              offsetof(TableHeader, lingers_given_way) == 208 && offsetof(TableHeader, ports_needed_job) == 248);

// Who asks: the process binding (or the supervisor holding), and the job the claim belongs to.
struct Claimant {
  ProcessIdentity process;
  uint64_t job_id = 0;  // packed identity of the job's leader
  const char* job_name = nullptr;
  const char* label = nullptr;
  uint32_t linger_ms = kDefaultLingerMs;
};

// A claim as its maker saw it: later changes are made only if the slot still has this word.
struct SlotRef {
  uint32_t index = UINT32_MAX;
  uint64_t word = 0;
  bool valid() const noexcept { return index != UINT32_MAX; }
};

struct SlotView {
  uint16_t port = 0;
  Protocol proto = Protocol::tcp;
  SlotState state = SlotState::free;
  ProcessIdentity owner;
  uint64_t job_id = 0;
  uint32_t pid = 0;
  uint32_t flags = 0;
  int64_t deadline_ms = 0;
  int64_t since_ms = 0;
  char job_name[kNameBytes] = {};
  char label[kNameBytes] = {};
};

enum class ClaimResult {
  claimed,       // the slot is now ours (ref valid)
  own_held,      // the claimant's job holds it through the supervisor
  own_claim,     // another process of the claimant's job has it bound
  other_job,     // a live process of another job has it (holder filled in)
  excluded,      // a reserved port the table never hands out
  out_of_range,  // not in the table
};

struct PortClaim {
  ClaimResult result = ClaimResult::out_of_range;
  SlotRef ref;
  SlotView holder;
  // claimed over the claimant's own job's linger: that linger as it was, so an owner whose bind
  // then fails can give it back (restore_linger) instead of freeing the port.
  bool took_over_linger = false;
  SlotView lingered;
};

// not_private: the segment is group/world-accessible, or another user's (root may inspect users'
// tables with open_existing, but open_or_create uses only its own). Names derive from the root
// path, so another user can make the segment first: it is never trusted.
enum class TableError { none, missing, too_small, bad_magic, wrong_version, bad_geometry, bad_checksum, system, not_private };

struct TableCounters {
  uint64_t picks = 0, fallbacks = 0, full_range_events = 0, reaped = 0;
  uint64_t lingers_given_way = 0, young_lingers_given_way = 0, claims_made = 0, peak_in_use = 0, ports_needed = 0;
  char ports_needed_job[kNameBytes] = {};
};

// What a pick got: a claim, or (ref invalid) how many ports of the range had a live socket, a
// hold or a reservation, each of which the picker would have needed one more than.
struct PickResult {
  SlotRef ref;
  bool gave_way = false;     // the claim took over a linger
  uint32_t unavailable = 0;  // set when ref is invalid: ports taken (live, held, reserved, just closed)
  // Host coordination (host_leases.hpp): the account's blocks had no room and the host daemon
  // leased no more (refused or unreachable), so the whole range was not looked at.
  bool host_limited = false;
};

// Ports a pick may take, as up to kMaxSpans ranges walked as one sequence (the blocks a host
// registry leases to the account): the table's shared cursor runs over their concatenation, so
// picks stay round robin across every block.
struct PortSpans {
  static constexpr uint32_t kMaxSpans = 256;
  const PortRange* ranges = nullptr;
  uint32_t count = 0;
};

// give_way: the usual pick (a crowded window's oldest linger gives way). free_only: only a free
// (or expired) port; invalid ref when none is left, so the caller can lease more room first.
enum class PickMode : uint8_t { give_way, free_only };

class PortTable;
struct TableOpen {
  std::unique_ptr<PortTable> table;
  TableError error = TableError::none;
  std::string message;  // one line naming the fix
};

struct TableSpec {
  std::string name;
  PortRange range;
  std::string socket_path;
  std::vector<PortRange> excluded;  // never handed out (ip_local_reserved_ports)
  // Also exclude the ports services listen on when the table is made (read_ports_in_use): read
  // only when the table is created, never by the many programs that merely open it.
  bool exclude_ports_in_use = false;
  uint32_t default_linger_ms = kDefaultLingerMs;
};

int64_t monotonic_ms() noexcept;

// Checks a table header as read from a segment of `actual_size` bytes (magic, version, checksum,
// geometry, size): how a reader that never maps the segment (the host daemon's pread) trusts it.
TableError check_table_header(const TableHeader& header, size_t actual_size, std::string& detail);
// Byte offset of a slot in the segment.
inline constexpr size_t slot_offset(uint32_t index) noexcept { return kHeaderBytes + size_t{index} * sizeof(Slot); }

class PortTable {
 public:
  // Opens the named segment, checking every header field. Never trusts a mismatching segment.
  static TableOpen open_existing(const std::string& name);
  // Opens the named segment only when `owner` owns it and no one else can use it, whoever the
  // caller is: how a runtime root's table is inspected (the owner is the root directory's), so
  // root can look at a user's table on purpose, never at one another user planted at its name.
  static TableOpen open_owned_by(const std::string& name, uid_t owner);
  // Opens it, or creates it fully initialised and publishes it atomically (mode 0600), so no
  // process ever sees a half-written table.
  static TableOpen open_or_create(const TableSpec& spec);
  // Removes the segment (the documented recovery from a corrupt table).
  static bool remove(const std::string& name);
  static std::string shm_path(const std::string& name);

  ~PortTable();
  PortTable(const PortTable&) = delete;
  PortTable& operator=(const PortTable&) = delete;

  PortRange range() const noexcept;
  std::string socket_path() const;
  uint32_t default_linger_ms() const noexcept;
  const std::string& name() const noexcept { return name_; }

  // Claims a free port of `within` (clipped to the table's range), scanning from start_offset;
  // the slot becomes bound (or held when target == held). Invalid ref when every slot is taken.
  SlotRef claim_any(Protocol proto, PortRange within, uint32_t start_offset, const Claimant& who,
                    SlotState target = SlotState::bound) noexcept;
  // A port-0 pick: round robin from the table's shared cursor (so the ports at the cursor are the
  // ones picked least recently), the first free (or expired) port of `within`. When the
  // kPickWindow ports past the cursor are all lingers and live sockets, a linger gives way: the
  // first at least kMinLingerAgeMs old (the claimant's own job's before other jobs'), else the
  // oldest younger one (again the job's own first), never one that began after this pick did (a
  // scan that lagged behind another picker's must not take a number between its close and its
  // re-bind). Never a held port, never a bound one. Invalid ref only when every port of `within`
  // has a live socket, a hold, a reservation or such a fresh linger (PickResult::unavailable).
  // Amortised O(1): a successful pick moves the cursor past what it skipped, so live sockets are
  // not scanned again by the next pick.
  PickResult pick(Protocol proto, PortRange within, const Claimant& who,
                  SlotState target = SlotState::bound) noexcept;
  // The same over several ranges (each clipped to the table's range) walked as one sequence.
  PickResult pick_in(Protocol proto, const PortSpans& spans, const Claimant& who,
                     SlotState target = SlotState::bound, PickMode mode = PickMode::give_way) noexcept;
  // Claims a given port; reclaims it first if its owner is dead or its linger expired; takes over
  // the claimant's own job's linger.
  PortClaim claim_port(Protocol proto, uint16_t port, const Claimant& who,
                       SlotState target = SlotState::bound) noexcept;

  // The owner marks real use: closing it then frees the port instead of lingering.
  void mark_used(const SlotRef& ref) noexcept;
  // True while the slot still holds this very claim and it has not been marked used yet.
  bool awaits_use(const SlotRef& ref) const noexcept;
  // The owner closed its socket: free when used, else linger for the job. False when the slot is
  // no longer this claim (reaped, or owned by another process after fork).
  bool release(const SlotRef& ref, const ProcessIdentity& me, int64_t now_ms) noexcept;
  // The owner drops the claim at once (a failed bind, the supervisor releasing a held port).
  bool drop(const SlotRef& ref, const ProcessIdentity& me) noexcept;
  // The owner gives back the linger its claim took over (claim.took_over_linger; its bind failed):
  // the slot lingers again for that job with the linger's own deadline, as if never taken. A
  // failed attempt hands no number on, so it earns no fresh linger time. Drops the claim when it
  // was not a takeover. False when the slot is no longer this claim.
  bool restore_linger(const PortClaim& claim, const ProcessIdentity& me) noexcept;
  // The owner changes its label (e.g. a proxy's target); ref is updated to the new word.
  bool set_label(SlotRef& ref, const ProcessIdentity& me, const char* label) noexcept;

  std::optional<SlotView> view(Protocol proto, uint16_t port) const noexcept;
  SlotRef ref_of(Protocol proto, uint16_t port) const noexcept;  // current word, for owners
  // Reclaims what dead owners and expired lingers left; returns how many slots changed.
  size_t reap(int64_t now_ms) noexcept;
  bool reap_slot(uint32_t index, int64_t now_ms) noexcept;
  // Every slot that is not free or excluded.
  std::vector<SlotView> list() const;
  // The processes live entries depend on (packed identities, unordered, repeats possible): a
  // bound, busy or held slot's owner and its job's leader, a linger's job leader. Reads only the slot words, so the
  // supervisor can afford it often. in_use counts the non-free, non-excluded slots per protocol.
  void collect_owners(std::vector<uint64_t>& owners, uint32_t (&in_use)[kProtocolCount]) const;
  // Reaps (reap_slot) every slot whose owner is one of `dead` (packed identities, sorted).
  size_t reap_owned_by(const std::vector<uint64_t>& dead, int64_t now_ms) noexcept;

  void count_fallback() noexcept;
  void count_full_range() noexcept;
  // A job's picks fell back while it needed `ports` ports of the range: kept when the most yet.
  void note_ports_needed(uint64_t ports, const char* job_name) noexcept;
  // The supervisor's sample of how many slots of one protocol are in use: kept when the most yet.
  void note_in_use(uint64_t ports) noexcept;
  // Counts every claim ever made (the supervisor looks for new owners when it changes).
  uint64_t claims_made() const noexcept;
  TableCounters counters() const noexcept;

  uint32_t slot_count() const noexcept { return slot_count_; }
  std::optional<uint32_t> index_of(Protocol proto, uint16_t port) const noexcept;

 private:
  PortTable(std::string name, std::unique_ptr<boost::interprocess::mapped_region> region);
  // own: the caller uses the table as its own, so even root requires it to be root's.
  static TableOpen open_segment(const std::string& name, bool own);
  // The same with the owner required exactly (open_owned_by) when `owner` is given.
  static TableOpen open_segment(const std::string& name, bool own, std::optional<uid_t> owner);
  Slot& slot(uint32_t index) const noexcept;
  uint32_t next_linger_seq() noexcept;
  SlotView view_slot(uint32_t index) const noexcept;
  bool take_busy(uint32_t index, uint64_t expected, const ProcessIdentity& me) noexcept;
  uint64_t publish(uint32_t index, uint64_t busy_word, SlotState state, const ProcessIdentity& owner) noexcept;
  bool claim_slot(uint32_t index, uint64_t expected, const Claimant& who, SlotState target, SlotRef& out) noexcept;

  std::string name_;
  std::unique_ptr<boost::interprocess::mapped_region> region_;
  TableHeader* header_;
  Slot* slots_;
  uint32_t slot_count_;
  PortRange range_;
};

}  // namespace portsafe
