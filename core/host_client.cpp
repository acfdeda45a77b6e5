#include "portsafe/host_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portsafe {
namespace {

// Raw system calls: inside the shim, socket()/connect()/send()/recv()/close() are its own
// wrappers (which track descriptors); the host RPC must never go through them.
long sys_socket() noexcept { return ::syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0); }
void sys_close(int fd) noexcept { ::syscall(SYS_close, fd); }

int64_t now_ms() noexcept {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// Waits for `events` until the deadline; false on timeout or error (EINTR retried).
bool wait_for(int fd, short events, int64_t deadline) noexcept {
  for (;;) {
    const int64_t left = deadline - now_ms();
    if (left <= 0) return false;
    struct pollfd p {fd, events, 0};
    struct timespec ts {static_cast<time_t>(left / 1000), static_cast<long>((left % 1000) * 1'000'000)};
    const long ready = ::syscall(SYS_ppoll, &p, 1, &ts, nullptr, 0);
    if (ready > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Sleeps a millisecond (less when the deadline is nearer); false when the deadline has passed.
bool pause_before_retry(int64_t deadline) noexcept {
  const int64_t left = deadline - now_ms();
  if (left <= 0) return false;
  struct timespec ts {0, left >= 1 ? 1'000'000L : 100'000L};
  ::syscall(SYS_ppoll, nullptr, 0, &ts, nullptr, 0);
  return true;
}

// A reply never needs more: the daemon's answers are a few bytes (an error's message is short).
constexpr size_t kReplyBuffer = 512;

}  // namespace

const char* host_answer_name(HostAnswer answer) noexcept {
  switch (answer) {
    case HostAnswer::granted: return "granted";
    case HostAnswer::refused: return "refused";
    case HostAnswer::taken: return "taken";
    case HostAnswer::not_taken: return "not_taken";
    case HostAnswer::unreachable: return "unreachable";
  }
  return "unknown";
}

HostClient::HostClient(const char* socket_path) noexcept {
  const size_t length = std::strlen(socket_path);
  if (length < sizeof path_) std::memcpy(path_, socket_path, length + 1);
}

HostReply HostClient::lease(const char* table_name, int timeout_ms) const noexcept {
  uint8_t payload[2 + kNameBytes];
  size_t length = std::strlen(table_name);
  if (length >= kNameBytes) length = kNameBytes - 1;
  payload[0] = static_cast<uint8_t>(length);
  payload[1] = static_cast<uint8_t>(length >> 8);
  std::memcpy(payload + 2, table_name, length);
  return call(static_cast<uint16_t>(wire::MessageType::host_lease), payload, static_cast<uint32_t>(2 + length),
              timeout_ms);
}

HostReply HostClient::query(Protocol proto, uint16_t port, int timeout_ms) const noexcept {
  const uint8_t payload[3] = {static_cast<uint8_t>(proto), static_cast<uint8_t>(port), static_cast<uint8_t>(port >> 8)};
  return call(static_cast<uint16_t>(wire::MessageType::host_query), payload, 3, timeout_ms);
}

HostReply HostClient::call(uint16_t type, const uint8_t* payload, uint32_t length, int timeout_ms) const noexcept {
  HostReply reply;
  if (path_[0] == '\0') return reply;
  const int64_t deadline = now_ms() + timeout_ms;
  const long opened = sys_socket();
  if (opened < 0) return reply;
  const int fd = static_cast<int>(opened);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_, sizeof path_);
  // A Unix socket's connect does not wait: a full backlog says EAGAIN. Another account can fill
  // the backlog with a connect storm, and the daemon drains it every turn, so try again until the
  // deadline rather than give up at once; a daemon that stays flooded still fails open in time.
  while (::syscall(SYS_connect, fd, &addr, sizeof addr) != 0 && errno != EINPROGRESS) {
    if ((errno != EAGAIN && errno != EINTR) || !pause_before_retry(deadline)) {
      sys_close(fd);
      return reply;
    }
  }
  uint8_t frame[wire::kHeaderSize + 2 + kNameBytes];
  wire::FrameHeader header;
  header.type = type;
  header.length = length;
  uint8_t encoded[wire::kHeaderSize];
  wire::encode_header(header, encoded);
  std::memcpy(frame, encoded, wire::kHeaderSize);
  std::memcpy(frame + wire::kHeaderSize, payload, length);
  const size_t frame_length = wire::kHeaderSize + length;
  size_t sent = 0;
  while (sent < frame_length) {
    const long n = ::syscall(SYS_sendto, fd, frame + sent, frame_length - sent, MSG_NOSIGNAL, nullptr, 0);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd, POLLOUT, deadline)) break;
    } else {
      break;
    }
  }
  uint8_t in[kReplyBuffer];
  size_t received = 0;
  size_t needed = wire::kHeaderSize;
  bool have_header = false;
  while (sent == frame_length && received < needed) {
    const long n = ::syscall(SYS_recvfrom, fd, in + received, needed - received, 0, nullptr, nullptr);
    if (n > 0) {
      received += static_cast<size_t>(n);
      if (!have_header && received == wire::kHeaderSize) {
        uint8_t head[wire::kHeaderSize];
        std::memcpy(head, in, wire::kHeaderSize);
        const wire::FrameHeader got = wire::decode_header(head);
        if (got.magic != wire::kMagic || got.version != wire::kVersion || got.length > kReplyBuffer - wire::kHeaderSize) break;
        needed = wire::kHeaderSize + got.length;
        have_header = true;
      }
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd, POLLIN, deadline)) break;
    } else {
      break;  // closed or failed
    }
  }
  sys_close(fd);
  if (!have_header || received != needed) return reply;
  uint8_t head[wire::kHeaderSize];
  std::memcpy(head, in, wire::kHeaderSize);
  const auto got_type = static_cast<wire::MessageType>(wire::decode_header(head).type);
  wire::WireReader fields(in + wire::kHeaderSize, received - wire::kHeaderSize);
  switch (got_type) {
    case wire::MessageType::host_leased: {
      const uint32_t block = fields.u32();
      const uint32_t generation = fields.u32();
      if (!fields.finish()) return reply;
      reply.answer = HostAnswer::granted;
      reply.block = block;
      reply.generation = generation;
      return reply;
    }
    case wire::MessageType::host_port: {
      const uint8_t taken = fields.u8();
      if (!fields.finish()) return reply;
      reply.answer = taken != 0 ? HostAnswer::taken : HostAnswer::not_taken;
      return reply;
    }
    case wire::MessageType::error: {
      const auto code = static_cast<wire::ErrorCode>(fields.u16());
      if (!fields.ok()) return reply;
      if (code == wire::ErrorCode::lease_refused || code == wire::ErrorCode::not_permitted) {
        reply.answer = HostAnswer::refused;
        reply.refusal = code;
      }
      return reply;
    }
    default:
      return reply;
  }
}

}  // namespace portsafe
