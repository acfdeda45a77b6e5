// The account side of the host daemon's protocol (issue 16): `lease` one more block, `query`
// whether another account has a port. Frames on HOSTDIR/host.sock in the wire protocol's format
// (wire_protocol.hpp: 12-byte header, fields as WireWriter writes them), encoded into fixed
// buffers with raw system calls: no allocation, no exception, no call through the shim's own
// wrappers, so the shim can ask from inside bind(). Every call is bounded by its timeout; the
// daemon's uid check is SO_PEERCRED, never anything in the payload.
#pragma once

#include <cstdint>

#include "portsafe/port_table.hpp"
#include "portsafe/wire_protocol.hpp"

namespace portsafe {

// The RPC budget (the lead's design: ~200 ms), after which the account goes on without the daemon.
inline constexpr int kHostTimeoutMs = 200;

enum class HostAnswer : uint8_t {
  granted,      // lease: block `block` (generation `generation`) is now the caller's
  refused,      // lease: the cap or an exhausted range (refusal says which); or not permitted
  taken,        // query: another account has the port claimed, held or lingering
  not_taken,    // query: no other account has it
  unreachable,  // no daemon, timeout, or an answer that is not one (fail open)
};
const char* host_answer_name(HostAnswer answer) noexcept;

struct HostReply {
  HostAnswer answer = HostAnswer::unreachable;
  uint32_t block = 0;       // granted
  uint32_t generation = 0;  // granted
  wire::ErrorCode refusal = wire::ErrorCode::internal;  // refused: lease_refused or not_permitted
};

class HostClient {
 public:
  // socket_path is copied (at most 107 bytes); a longer one makes every call unreachable.
  explicit HostClient(const char* socket_path) noexcept;
  // One more block for the caller's uid and its table (a "portsafe-HASH" name).
  HostReply lease(const char* table_name, int timeout_ms = kHostTimeoutMs) const noexcept;
  // Whether another account has PORT of PROTO claimed (bound/held/busy by a live owner, or an
  // unexpired linger).
  HostReply query(Protocol proto, uint16_t port, int timeout_ms = kHostTimeoutMs) const noexcept;
  const char* socket_path() const noexcept { return path_; }

 private:
  HostReply call(uint16_t type, const uint8_t* payload, uint32_t length, int timeout_ms) const noexcept;
  char path_[108] = {};
};

}  // namespace portsafe
