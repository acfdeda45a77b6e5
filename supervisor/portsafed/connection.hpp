// One client connection: a non-blocking socket, the frames it has sent so far, and the replies
// (with any descriptor) it has not taken yet.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <deque>
#include <vector>

#include "frame_assembler.hpp"
#include "portsafe/unique_fd.hpp"
#include "request_handler.hpp"

namespace portsafe::supervisor {

class Connection {
 public:
  Connection(uint64_t id, UniqueFd fd, const ucred& peer) : id_(id), fd_(std::move(fd)), peer_(peer) {}

  enum class ReadResult { open, peer_closed, failed };
  // Reads everything available now into the assembler. Descriptors a client sends us are closed:
  // the supervisor never accepts any.
  ReadResult read_available();
  FrameAssembler& frames() noexcept { return frames_; }

  void queue_reply(Reply reply);
  // Sends what the socket takes now; false on a fatal send error.
  bool flush();
  bool wants_write() const noexcept { return !out_.empty(); }
  // Too much unread output: stop reading requests until the client catches up.
  bool backlogged() const noexcept { return pending_bytes_ > kMaxPendingBytes; }

  void close_after_flush() noexcept { closing_ = true; }
  bool closing() const noexcept { return closing_; }
  // When a reply was last queued into an empty output or a byte of output was last taken by the
  // peer: a closing connection whose output has not moved for long will never be read.
  int64_t last_progress_ms() const noexcept { return last_progress_ms_; }

  uint64_t id() const noexcept { return id_; }
  int fd() const noexcept { return fd_.get(); }
  Peer peer() const noexcept { return Peer{id_, peer_.pid, peer_.uid}; }

 private:
  static constexpr size_t kMaxPendingBytes = 1 << 20;
  struct Outgoing {
    std::vector<uint8_t> bytes;
    size_t sent = 0;
    UniqueFd fd;
  };

  uint64_t id_;
  UniqueFd fd_;
  ucred peer_;
  FrameAssembler frames_;
  std::deque<Outgoing> out_;
  size_t pending_bytes_ = 0;
  int64_t last_progress_ms_ = 0;
  bool closing_ = false;
};

}  // namespace portsafe::supervisor
