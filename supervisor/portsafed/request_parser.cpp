#include "request_parser.hpp"

#include <fmt/format.h>

#include <optional>

namespace portsafe::supervisor {
namespace {

using wire::ErrorCode;
using wire::MessageType;

template <typename T>
ParsedRequest typed_or_error(std::optional<T> decoded, MessageType type) {
  if (!decoded) {
    return wire::ErrorReply{ErrorCode::bad_payload,
                            fmt::format("malformed {} request: fields missing, out of range or trailing bytes",
                                        wire::message_type_name(type))};
  }
  return Request{std::move(*decoded)};
}

// status, gc and ping carry nothing: bytes there mean a client we do not understand.
template <typename T>
ParsedRequest empty_or_error(const std::vector<uint8_t>& payload, MessageType type) {
  return typed_or_error(payload.empty() ? std::optional<T>(T{}) : std::nullopt, type);
}

}  // namespace

ParsedRequest parse_request(uint16_t type, const std::vector<uint8_t>& payload) {
  const auto kind = static_cast<MessageType>(type);
  switch (kind) {
    case MessageType::open_job: return typed_or_error(wire::decode_open_job(payload), kind);
    case MessageType::reserve: return typed_or_error(wire::decode_reserve(payload), kind);
    case MessageType::acquire: return typed_or_error(wire::decode_acquire(payload), kind);
    case MessageType::release: {
      auto key = wire::decode_port_key(payload);
      return typed_or_error(key ? std::optional<ReleaseRequest>(ReleaseRequest{*key}) : std::nullopt, kind);
    }
    case MessageType::status: return empty_or_error<StatusRequest>(payload, kind);
    case MessageType::gc: return empty_or_error<GcRequest>(payload, kind);
    case MessageType::ping: return empty_or_error<PingRequest>(payload, kind);
    case MessageType::annotate: return typed_or_error(wire::decode_annotate(payload), kind);
    default:
      break;
  }
  return wire::ErrorReply{ErrorCode::unknown_type,
                          fmt::format("message type {} is not a request this supervisor knows; use portsafe tools "
                                      "of the same release",
                                      type)};
}

}  // namespace portsafe::supervisor
