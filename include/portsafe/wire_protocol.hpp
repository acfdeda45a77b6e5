// The supervisor's wire protocol. Every message is a frame: a 12-byte header (magic, version,
// type, payload length; little-endian) and a payload of fields encoded by WireWriter. Parsing is
// strict: a frame or payload that is short, long, or has trailing bytes is rejected with an
// error code and a message, never half-understood.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portsafe/port_table.hpp"

namespace portsafe::wire {

inline constexpr uint32_t kMagic = 0x57465350;  // "PSFW"
inline constexpr uint16_t kVersion = 1;
inline constexpr size_t kHeaderSize = 12;
inline constexpr uint32_t kMaxPayload = 256 * 1024;
inline constexpr size_t kMaxString = 4096;
inline constexpr size_t kMaxPortsPerRequest = 64;

enum class MessageType : uint16_t {
  // requests
  open_job = 1,   // str job_name, u64 job_id (0: the peer leads a new job)         -> job_opened
  reserve = 2,    // u8 n, n x {str name, u8 proto, u16 port (0: any)}              -> reserved
  acquire = 3,    // u8 proto, u16 port, str bind_address ("" = wildcard), u8 listen -> acquired + fd
  release = 4,    // u8 proto, u16 port                                             -> ok
  status = 5,     //                                                                -> status_reply
  gc = 6,         //                                                                -> gc_reply
  ping = 7,       //                                                                -> pong
  annotate = 8,   // u8 proto, u16 port, str label                                  -> ok
  // requests to the host daemon (`portsafed --host`, HOSTDIR/host.sock; issue 16)
  host_lease = 20,  // str table_name ("portsafe-HASH", the caller's 0600 table) -> host_leased
  host_query = 21,  // u8 proto, u16 port                                          -> host_port
  // replies
  ok = 100,
  error = 101,         // u16 code, str message
  job_opened = 102,    // u64 job_id, str job_name, u16 range_low, u16 range_high
  reserved = 103,      // u8 n, n x {str name, u8 proto, u16 port}
  acquired = 104,      // u8 proto, u16 port (the descriptor travels as SCM_RIGHTS)
  status_reply = 105,  // u32 n, n x StatusEntry
  gc_reply = 106,      // u32 reaped
  pong = 107,          // u32 supervisor pid, u16 protocol version, str portsafe version
  host_leased = 120,   // u32 block index, u32 block generation
  host_port = 121,     // u8 taken (1: another account has it claimed, held or lingering)
};

enum class ErrorCode : uint16_t {
  bad_frame = 1,       // magic, length or framing wrong: the connection is closed after the reply
  bad_version = 2,     // this supervisor speaks kVersion only
  unknown_type = 3,
  bad_payload = 4,     // fields missing, malformed or trailing bytes
  no_job = 5,          // the request needs open_job first
  port_in_use = 6,     // another job holds the port
  range_full = 7,      // no free port left in the range
  not_held = 8,        // acquire/release of a port no job holds
  bind_failed = 9,     // the kernel refused (message says why)
  table_error = 10,
  internal = 11,
  stopping = 12,       // the supervisor is exiting (idle): reconnect, which starts a fresh one
  lease_refused = 13,  // host: the account's cap (half the blocks while others ask) or no free block
  not_permitted = 14,  // host: the named table is not the caller's private table
};

const char* message_type_name(MessageType type);
const char* error_code_name(ErrorCode code);

struct FrameHeader {
  uint32_t magic = kMagic;
  uint16_t version = kVersion;
  uint16_t type = 0;
  uint32_t length = 0;
};

void encode_header(const FrameHeader& header, uint8_t (&out)[kHeaderSize]);
FrameHeader decode_header(const uint8_t (&in)[kHeaderSize]);

// Why a header cannot be accepted; nullopt when it can.
struct FrameProblem {
  ErrorCode code;
  std::string message;
};
std::optional<FrameProblem> check_header(const FrameHeader& header);

class WireWriter {
 public:
  WireWriter& u8(uint8_t v);
  WireWriter& u16(uint16_t v);
  WireWriter& u32(uint32_t v);
  WireWriter& u64(uint64_t v);
  WireWriter& str(std::string_view v);  // u16 length + bytes (truncated to kMaxString)
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  // The whole frame (header + payload).
  std::vector<uint8_t> frame(MessageType type) const;

 private:
  std::vector<uint8_t> bytes_;
};

// Reads fields in order; the first failure sticks and every later read returns zero values.
class WireReader {
 public:
  explicit WireReader(const std::vector<uint8_t>& payload) : data_(payload.data()), size_(payload.size()) {}
  WireReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  std::string str();
  // True when every read succeeded and no byte is left over.
  bool finish() const { return ok_ && offset_ == size_; }
  bool ok() const { return ok_; }

 private:
  bool take(size_t n);
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
  bool ok_ = true;
};

// ---- typed messages --------------------------------------------------------------------------
struct PortRequest {
  std::string name;
  Protocol proto = Protocol::tcp;
  uint16_t port = 0;  // 0: any port of the range
};

struct OpenJob {
  std::string job_name;
  uint64_t job_id = 0;
};
struct JobOpened {
  uint64_t job_id = 0;
  std::string job_name;
  PortRange range;
};
struct Reserve {
  std::vector<PortRequest> ports;
  // Holds these given port numbers *again* for a job whose supervisor went away (its server may
  // already serve them): the supervisor takes over the job's own linger or orphaned hold, binds
  // placeholders only where no socket uses the port, and keeps a table-only hold otherwise.
  // Sent as one trailing byte only when set, so plain reservations stay as they were.
  bool rehold = false;
};
struct Reserved {
  std::vector<PortRequest> ports;  // port filled in
};
struct Acquire {
  Protocol proto = Protocol::tcp;
  uint16_t port = 0;
  std::string bind_address;  // numeric IPv4/IPv6; "" = wildcard
  bool listen = false;
};
struct Acquired {
  Protocol proto = Protocol::tcp;
  uint16_t port = 0;
};
struct PortKey {
  Protocol proto = Protocol::tcp;
  uint16_t port = 0;
};
struct Annotate {
  Protocol proto = Protocol::tcp;
  uint16_t port = 0;
  std::string label;
};
struct ErrorReply {
  ErrorCode code = ErrorCode::internal;
  std::string message;
};
struct StatusEntry {
  uint16_t port = 0;
  Protocol proto = Protocol::tcp;
  SlotState state = SlotState::free;
  uint64_t job_id = 0;
  std::string job_name;
  uint32_t pid = 0;
  std::string label;
  uint64_t age_ms = 0;
};
struct StatusReply {
  std::vector<StatusEntry> entries;
};
struct GcReply {
  uint32_t reaped = 0;
};
struct Pong {
  uint32_t pid = 0;
  uint16_t protocol_version = kVersion;
  std::string version;
};

// encode_* give the payload; decode_* return nullopt on any malformed payload.
std::vector<uint8_t> encode(const OpenJob& m);
std::vector<uint8_t> encode(const JobOpened& m);
std::vector<uint8_t> encode(const Reserve& m);
std::vector<uint8_t> encode(const Reserved& m);
std::vector<uint8_t> encode(const Acquire& m);
std::vector<uint8_t> encode(const Acquired& m);
std::vector<uint8_t> encode(const PortKey& m);
std::vector<uint8_t> encode(const Annotate& m);
std::vector<uint8_t> encode(const ErrorReply& m);
std::vector<uint8_t> encode(const StatusReply& m);
std::vector<uint8_t> encode(const GcReply& m);
std::vector<uint8_t> encode(const Pong& m);

std::optional<OpenJob> decode_open_job(const std::vector<uint8_t>& payload);
std::optional<JobOpened> decode_job_opened(const std::vector<uint8_t>& payload);
std::optional<Reserve> decode_reserve(const std::vector<uint8_t>& payload);
std::optional<Reserved> decode_reserved(const std::vector<uint8_t>& payload);
std::optional<Acquire> decode_acquire(const std::vector<uint8_t>& payload);
std::optional<Acquired> decode_acquired(const std::vector<uint8_t>& payload);
std::optional<PortKey> decode_port_key(const std::vector<uint8_t>& payload);
std::optional<Annotate> decode_annotate(const std::vector<uint8_t>& payload);
std::optional<ErrorReply> decode_error(const std::vector<uint8_t>& payload);
std::optional<StatusReply> decode_status(const std::vector<uint8_t>& payload);
std::optional<GcReply> decode_gc(const std::vector<uint8_t>& payload);
std::optional<Pong> decode_pong(const std::vector<uint8_t>& payload);

// A complete frame: header + payload bytes.
std::vector<uint8_t> make_frame(MessageType type, const std::vector<uint8_t>& payload);

}  // namespace portsafe::wire
