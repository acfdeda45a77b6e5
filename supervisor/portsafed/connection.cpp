#include "connection.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portsafe::supervisor {
namespace {

void close_passed_descriptors(msghdr& msg) {
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
      ::close(fd);
    }
  }
}

}  // namespace

Connection::ReadResult Connection::read_available() {
  uint8_t buffer[16384];
  while (true) {
    iovec iov{buffer, sizeof buffer};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return ReadResult::open;
      return ReadResult::failed;
    }
    close_passed_descriptors(msg);
    if (n == 0) return ReadResult::peer_closed;
    frames_.append(buffer, static_cast<size_t>(n));
    if (frames_.broken()) return ReadResult::open;  // nothing more will be parsed anyway
    if (static_cast<size_t>(n) < sizeof buffer) return ReadResult::open;
    // A fast writer must not keep us here (or grow the buffer without end): one frame at most
    // per turn; level-triggered epoll brings us back for the rest.
    if (frames_.buffered() > wire::kHeaderSize + wire::kMaxPayload) return ReadResult::open;
  }
}

void Connection::queue_reply(Reply reply) {
  Outgoing out;
  out.bytes = wire::make_frame(reply.type, reply.payload);
  out.fd = std::move(reply.fd);
  if (out_.empty()) last_progress_ms_ = monotonic_ms();
  pending_bytes_ += out.bytes.size();
  out_.push_back(std::move(out));
}

bool Connection::flush() {
  while (!out_.empty()) {
    Outgoing& front = out_.front();
    iovec iov{front.bytes.data() + front.sent, front.bytes.size() - front.sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (front.sent == 0 && front.fd) {
      // The descriptor rides on the reply's first byte, so the client gets it with the header.
      std::memset(control, 0, sizeof control);
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(int));
      const int fd = front.fd.get();
      std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    }
    const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      return false;
    }
    if (front.fd) front.fd.reset();  // sent: the client owns its copy now
    if (n > 0) last_progress_ms_ = monotonic_ms();
    front.sent += static_cast<size_t>(n);
    pending_bytes_ -= static_cast<size_t>(n);
    if (front.sent == front.bytes.size()) out_.pop_front();
  }
  return true;
}

}  // namespace portsafe::supervisor
