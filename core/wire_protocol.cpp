#include "portsafe/wire_protocol.hpp"

#include <fmt/format.h>

#include <cstring>

namespace portsafe::wire {
namespace {

template <typename T>
void put_le(std::vector<uint8_t>& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i)));
}

template <typename T>
T get_le(const uint8_t* in) {
  uint64_t value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value |= static_cast<uint64_t>(in[i]) << (8 * i);
  return static_cast<T>(value);
}

std::optional<Protocol> read_protocol(WireReader& in) {
  const uint8_t raw = in.u8();
  if (raw >= kProtocolCount) return std::nullopt;
  return static_cast<Protocol>(raw);
}

bool valid_state(uint8_t raw) { return raw <= static_cast<uint8_t>(SlotState::excluded); }

template <typename T>
std::optional<T> finished(const WireReader& in, T value) {
  if (!in.finish()) return std::nullopt;
  return value;
}

}  // namespace

const char* message_type_name(MessageType type) {
  switch (type) {
    case MessageType::open_job: return "open_job";
    case MessageType::reserve: return "reserve";
    case MessageType::acquire: return "acquire";
    case MessageType::release: return "release";
    case MessageType::status: return "status";
    case MessageType::gc: return "gc";
    case MessageType::ping: return "ping";
    case MessageType::annotate: return "annotate";
    case MessageType::ok: return "ok";
    case MessageType::error: return "error";
    case MessageType::job_opened: return "job_opened";
    case MessageType::reserved: return "reserved";
    case MessageType::acquired: return "acquired";
    case MessageType::status_reply: return "status_reply";
    case MessageType::gc_reply: return "gc_reply";
    case MessageType::pong: return "pong";
    case MessageType::host_lease: return "host_lease";
    case MessageType::host_query: return "host_query";
    case MessageType::host_leased: return "host_leased";
    case MessageType::host_port: return "host_port";
  }
  return "unknown";
}

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_frame: return "bad_frame";
    case ErrorCode::bad_version: return "bad_version";
    case ErrorCode::unknown_type: return "unknown_type";
    case ErrorCode::bad_payload: return "bad_payload";
    case ErrorCode::no_job: return "no_job";
    case ErrorCode::port_in_use: return "port_in_use";
    case ErrorCode::range_full: return "range_full";
    case ErrorCode::not_held: return "not_held";
    case ErrorCode::bind_failed: return "bind_failed";
    case ErrorCode::table_error: return "table_error";
    case ErrorCode::internal: return "internal";
    case ErrorCode::stopping: return "stopping";
    case ErrorCode::lease_refused: return "lease_refused";
    case ErrorCode::not_permitted: return "not_permitted";
  }
  return "unknown";
}

void encode_header(const FrameHeader& header, uint8_t (&out)[kHeaderSize]) {
  for (size_t i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(header.magic >> (8 * i));
  for (size_t i = 0; i < 2; ++i) out[4 + i] = static_cast<uint8_t>(header.version >> (8 * i));
  for (size_t i = 0; i < 2; ++i) out[6 + i] = static_cast<uint8_t>(header.type >> (8 * i));
  for (size_t i = 0; i < 4; ++i) out[8 + i] = static_cast<uint8_t>(header.length >> (8 * i));
}

FrameHeader decode_header(const uint8_t (&in)[kHeaderSize]) {
  FrameHeader header;
  header.magic = get_le<uint32_t>(in);
  header.version = get_le<uint16_t>(in + 4);
  header.type = get_le<uint16_t>(in + 6);
  header.length = get_le<uint32_t>(in + 8);
  return header;
}

std::optional<FrameProblem> check_header(const FrameHeader& header) {
  if (header.magic != kMagic) {
    return FrameProblem{ErrorCode::bad_frame, "not a portsafe frame (bad magic); is this client a portsafe tool?"};
  }
  if (header.length > kMaxPayload) {
    return FrameProblem{ErrorCode::bad_frame,
                        fmt::format("frame of {} bytes exceeds the limit of {}", header.length, kMaxPayload)};
  }
  if (header.version != kVersion) {
    return FrameProblem{ErrorCode::bad_version,
                        fmt::format("protocol version {} is not supported; this supervisor speaks version {}: "
                                    "use portsafe tools of the same release",
                                    header.version, kVersion)};
  }
  return std::nullopt;
}

WireWriter& WireWriter::u8(uint8_t v) {
  bytes_.push_back(v);
  return *this;
}
WireWriter& WireWriter::u16(uint16_t v) {
  put_le(bytes_, v);
  return *this;
}
WireWriter& WireWriter::u32(uint32_t v) {
  put_le(bytes_, v);
  return *this;
}
WireWriter& WireWriter::u64(uint64_t v) {
  put_le(bytes_, v);
  return *this;
}
WireWriter& WireWriter::str(std::string_view v) {
  if (v.size() > kMaxString) v = v.substr(0, kMaxString);
  put_le(bytes_, static_cast<uint16_t>(v.size()));
  bytes_.insert(bytes_.end(), v.begin(), v.end());
  return *this;
}
std::vector<uint8_t> WireWriter::frame(MessageType type) const { return make_frame(type, bytes_); }

bool WireReader::take(size_t n) {
  if (!ok_ || size_ - offset_ < n) {
    ok_ = false;
    return false;
  }
  return true;
}
uint8_t WireReader::u8() {
  if (!take(1)) return 0;
  return data_[offset_++];
}
uint16_t WireReader::u16() {
  if (!take(2)) return 0;
  const auto v = get_le<uint16_t>(data_ + offset_);
  offset_ += 2;
  return v;
}
uint32_t WireReader::u32() {
  if (!take(4)) return 0;
  const auto v = get_le<uint32_t>(data_ + offset_);
  offset_ += 4;
  return v;
}
uint64_t WireReader::u64() {
  if (!take(8)) return 0;
  const auto v = get_le<uint64_t>(data_ + offset_);
  offset_ += 8;
  return v;
}
std::string WireReader::str() {
  const uint16_t n = u16();
  if (n > kMaxString) ok_ = false;
  if (!take(n)) return {};
  std::string v(reinterpret_cast<const char*>(data_ + offset_), n);
  offset_ += n;
  return v;
}

std::vector<uint8_t> make_frame(MessageType type, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> frame;
  frame.reserve(kHeaderSize + payload.size());
  put_le(frame, kMagic);
  put_le(frame, kVersion);
  put_le(frame, static_cast<uint16_t>(type));
  put_le(frame, static_cast<uint32_t>(payload.size()));
  frame.insert(frame.end(), payload.begin(), payload.end());
  return frame;
}

// ---- typed messages --------------------------------------------------------------------------
std::vector<uint8_t> encode(const OpenJob& m) { return WireWriter().str(m.job_name).u64(m.job_id).bytes(); }
std::optional<OpenJob> decode_open_job(const std::vector<uint8_t>& payload) {
  WireReader in(payload);
  OpenJob m;
  m.job_name = in.str();
  m.job_id = in.u64();
  return finished(in, m);
}

std::vector<uint8_t> encode(const JobOpened& m) {
  return WireWriter().u64(m.job_id).str(m.job_name).u16(m.range.low).u16(m.range.high).bytes();
}
std::optional<JobOpened> decode_job_opened(const std::vector<uint8_t>& payload) {
  WireReader in(payload);
  JobOpened m;
  m.job_id = in.u64();
  m.job_name = in.str();
  m.range.low = in.u16();
  m.range.high = in.u16();
  return finished(in, m);
}

namespace {
void write_ports(WireWriter& out, const std::vector<PortRequest>& ports) {
  out.u8(static_cast<uint8_t>(ports.size()));
  for (const auto& p : ports) out.str(p.name).u8(static_cast<uint8_t>(p.proto)).u16(p.port);
}
std::optional<std::vector<PortRequest>> read_ports(WireReader& in) {
  const uint8_t n = in.u8();
  if (n == 0 || n > kMaxPortsPerRequest) return std::nullopt;
  std::vector<PortRequest> ports;
  for (uint8_t i = 0; i < n && in.ok(); ++i) {
    PortRequest p;
    p.name = in.str();
    const auto proto = read_protocol(in);
    if (!proto) return std::nullopt;
    p.proto = *proto;
    p.port = in.u16();
    ports.push_back(std::move(p));
  }
  if (!in.ok()) return std::nullopt;
  return ports;
}
}  // namespace

std::vector<uint8_t> encode(const Reserve& m) {
  WireWriter out;
  write_ports(out, m.ports);
  if (m.rehold) out.u8(1);
  return out.bytes();
}
std::optional<Reserve> decode_reserve(const std::vector<uint8_t>& payload) {
  WireReader in(payload);
  auto ports = read_ports(in);
  if (!ports) return std::nullopt;
  Reserve m{std::move(*ports)};
  // The optional trailing rehold byte (absent from a plain reservation): exactly 1 when present.
  if (!in.finish()) {
    if (in.u8() != 1) return std::nullopt;
    m.rehold = true;
  }
  return finished(in, std::move(m));
}
std::vector<uint8_t> encode(const Reserved& m) {
  WireWriter out;
  write_ports(out, m.ports);
  return out.bytes();
}
std::optional<Reserved> decode_reserved(const std::vector<uint8_t>& payload) {
  WireReader in(payload);
  auto ports = read_ports(in);
  if (!ports) return std::nullopt;
  return finished(in, Reserved{std::move(*ports)});
}

std::vector<uint8_t> encode(const Acquire& m) {
  return WireWriter().u8(static_cast<uint8_t>(m.proto)).u16(m.port).str(m.bind_address).u8(m.listen ? 1 : 0).bytes();
}
std::optional<Acquire> decode_acquire(const std::vector<uint8_t>& payload) {
  WireReader in(payload);
  Acquire m;
  const auto proto = read_protocol(in);
  m.port = in.u16();
  m.bind_address = in.str();
  const uint8_t listen = in.u8();
  if (!proto || listen > 1) return std::nullopt;
  m.proto = *proto;
  m.listen = listen == 1;
  return finished(in, m);
}

std::vector<uint8_t> encode(const Acquired& m) { return WireWriter().u8(static_cast<uint8_t>(m.proto)).u16(m.port).bytes(); }
std::optional<Acquired> decode_acquired(const std::vector<uint8_t>& payload) {
  WireReader in(payload);
  Acquired m;
  const auto proto = read_protocol(in);
  m.port = in.u16();
  if (!proto) return std::nullopt;
  m.proto = *proto;
  return finished(in, m);
}

std::vector<uint8_t> encode(const PortKey& m) { return WireWriter().u8(static_cast<uint8_t>(m.proto)).u16(m.port).bytes(); }
std::optional<PortKey> decode_port_key(const std::vector<uint8_t>& payload) {
  WireReader in(payload);
  PortKey m;
  const auto proto = read_protocol(in);
  m.port = in.u16();
  if (!proto) return std::nullopt;
  m.proto = *proto;
  return finished(in, m);
}

std::vector<uint8_t> encode(const Annotate& m) {
  return WireWriter().u8(static_cast<uint8_t>(m.proto)).u16(m.port).str(m.label).bytes();
}
std::optional<Annotate> decode_annotate(const std::vector<uint8_t>& payload) {
  WireReader in(payload);
  Annotate m;
  const auto proto = read_protocol(in);
  m.port = in.u16();
  m.label = in.str();
  if (!proto) return std::nullopt;
  m.proto = *proto;
  return finished(in, m);
}

std::vector<uint8_t> encode(const ErrorReply& m) { return WireWriter().u16(static_cast<uint16_t>(m.code)).str(m.message).bytes(); }
std::optional<ErrorReply> decode_error(const std::vector<uint8_t>& payload) {
  WireReader in(payload);
  ErrorReply m;
  m.code = static_cast<ErrorCode>(in.u16());
  m.message = in.str();
  return finished(in, m);
}

std::vector<uint8_t> encode(const StatusReply& m) {
  WireWriter out;
  out.u32(static_cast<uint32_t>(m.entries.size()));
  for (const auto& e : m.entries) {
    out.u16(e.port).u8(static_cast<uint8_t>(e.proto)).u8(static_cast<uint8_t>(e.state)).u64(e.job_id);
    out.str(e.job_name).u32(e.pid).str(e.label).u64(e.age_ms);
  }
  return out.bytes();
}
std::optional<StatusReply> decode_status(const std::vector<uint8_t>& payload) {
  WireReader in(payload);
  StatusReply m;
  const uint32_t n = in.u32();
  // Each entry takes at least 28 bytes: a count beyond that is a lie, not a reason to allocate.
  if (n > payload.size() / 28) return std::nullopt;
  for (uint32_t i = 0; i < n && in.ok(); ++i) {
    StatusEntry e;
    e.port = in.u16();
    const auto proto = read_protocol(in);
    const uint8_t state = in.u8();
    if (!proto || !valid_state(state)) return std::nullopt;
    e.proto = *proto;
    e.state = static_cast<SlotState>(state);
    e.job_id = in.u64();
    e.job_name = in.str();
    e.pid = in.u32();
    e.label = in.str();
    e.age_ms = in.u64();
    m.entries.push_back(std::move(e));
  }
  return finished(in, m);
}

std::vector<uint8_t> encode(const GcReply& m) { return WireWriter().u32(m.reaped).bytes(); }
std::optional<GcReply> decode_gc(const std::vector<uint8_t>& payload) {
  WireReader in(payload);
  GcReply m;
  m.reaped = in.u32();
  return finished(in, m);
}

std::vector<uint8_t> encode(const Pong& m) { return WireWriter().u32(m.pid).u16(m.protocol_version).str(m.version).bytes(); }
std::optional<Pong> decode_pong(const std::vector<uint8_t>& payload) {
  WireReader in(payload);
  Pong m;
  m.pid = in.u32();
  m.protocol_version = in.u16();
  m.version = in.str();
  return finished(in, m);
}

}  // namespace portsafe::wire
