#include "frame_assembler.hpp"

#include <cstring>

namespace portsafe::supervisor {

void FrameAssembler::append(const uint8_t* data, size_t size) {
  if (broken_ || size == 0) return;
  compact();
  buffer_.insert(buffer_.end(), data, data + size);
}

// Consumed bytes are dropped lazily, so a burst of small frames costs one move, not one each.
void FrameAssembler::compact() {
  if (start_ == 0) return;
  if (start_ == buffer_.size()) {
    buffer_.clear();
  } else {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
  }
  start_ = 0;
}

std::optional<FrameEvent> FrameAssembler::next() {
  if (broken_ || buffered() < wire::kHeaderSize) return std::nullopt;
  uint8_t raw[wire::kHeaderSize];
  std::memcpy(raw, buffer_.data() + start_, sizeof raw);
  const wire::FrameHeader header = wire::decode_header(raw);
  const auto problem = wire::check_header(header);
  if (problem && problem->code == wire::ErrorCode::bad_frame) {
    // Bad magic or an absurd length: the stream has no trustworthy boundary any more.
    broken_ = true;
    buffer_.clear();
    start_ = 0;
    FrameEvent event;
    event.kind = FrameEvent::Kind::problem;
    event.error = wire::ErrorReply{problem->code, problem->message};
    event.close = true;
    return event;
  }
  // check_header has bounded the length, so waiting for the whole frame is safe.
  if (buffered() - wire::kHeaderSize < header.length) return std::nullopt;
  const auto* body = buffer_.data() + start_ + wire::kHeaderSize;
  FrameEvent event;
  if (problem) {
    // Wrong version with intact framing: answer, skip the frame, keep the connection.
    event.kind = FrameEvent::Kind::problem;
    event.error = wire::ErrorReply{problem->code, problem->message};
  } else {
    event.type = header.type;
    event.payload.assign(body, body + header.length);
  }
  start_ += wire::kHeaderSize + header.length;
  return event;
}

}  // namespace portsafe::supervisor
