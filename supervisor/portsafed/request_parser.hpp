// Turns a frame into a typed request, strictly: an unknown type or a payload that is short, long
// or malformed becomes an error reply that says which.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "portsafe/wire_protocol.hpp"

namespace portsafe::supervisor {

struct ReleaseRequest {
  wire::PortKey key;
};
struct StatusRequest {};
struct GcRequest {};
struct PingRequest {};

using Request = std::variant<wire::OpenJob, wire::Reserve, wire::Acquire, ReleaseRequest, StatusRequest, GcRequest,
                             PingRequest, wire::Annotate>;

// A request, or the error to answer instead.
using ParsedRequest = std::variant<Request, wire::ErrorReply>;

ParsedRequest parse_request(uint16_t type, const std::vector<uint8_t>& payload);

}  // namespace portsafe::supervisor
