// Cuts a byte stream from one client into frames. Pure (no I/O), so the fuzzer and the unit
// tests drive exactly the code the daemon runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "portsafe/wire_protocol.hpp"

namespace portsafe::supervisor {

struct FrameEvent {
  enum class Kind { frame, problem };
  Kind kind = Kind::frame;
  uint16_t type = 0;             // frame: the message type as sent (may be unknown)
  std::vector<uint8_t> payload;  // frame: exactly header.length bytes
  wire::ErrorReply error;        // problem: what to answer
  bool close = false;            // problem: framing is lost, close after the reply
};

class FrameAssembler {
 public:
  void append(const uint8_t* data, size_t size);
  // The next complete frame or problem; nullopt while more bytes are needed (or after a problem
  // that closes the connection: nothing after it can be trusted to be a frame boundary).
  std::optional<FrameEvent> next();
  bool broken() const noexcept { return broken_; }
  size_t buffered() const noexcept { return buffer_.size() - start_; }

 private:
  void compact();

  std::vector<uint8_t> buffer_;
  size_t start_ = 0;
  bool broken_ = false;
};

}  // namespace portsafe::supervisor
