#include "tcp_relay.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "portsafe/log.hpp"

namespace portsafe::docker_proxy {
namespace {

constexpr uint64_t kStopKey = 0;
constexpr uint64_t kListenerKey = 1;
constexpr int kPipeBytes = 1 << 18;  // fewer, larger splices; the kernel may refuse (then 64 KiB)
constexpr int kAcceptBurst = 64;     // accepts per wake-up, so busy listeners do not starve data
constexpr uint32_t kConnectionEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
constexpr unsigned kSpliceFlags = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;

uint64_t key_of(uint64_t id, bool backend) { return (id << 1) | (backend ? 1 : 0); }

void set_no_delay(int fd) {
  // Go (docker-proxy) sets TCP_NODELAY on every connection; small request/response traffic
  // would otherwise wait for Nagle's algorithm at the proxy.
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

bool make_pipe(UniqueFd& read_end, UniqueFd& write_end, size_t& capacity) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  const int size = ::fcntl(fds[1], F_SETPIPE_SZ, kPipeBytes);
  capacity = static_cast<size_t>(size > 0 ? size : ::fcntl(fds[1], F_GETPIPE_SZ));
  return true;
}

bool transient(int error) { return error == EAGAIN || error == EINTR; }

}  // namespace

void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

TcpRelay::TcpRelay(UniqueFd listener, const Endpoint& container)
    : listener_(std::move(listener)), epoll_(::epoll_create1(EPOLL_CLOEXEC)), container_(container) {}

TcpRelay::~TcpRelay() = default;

bool TcpRelay::watch(int fd, uint64_t key, uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = key;
  return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) == 0;
}

void TcpRelay::set_accepting(bool on) {
  if (accepting_ == on) return;
  epoll_event event{};
  event.events = on ? static_cast<uint32_t>(EPOLLIN) : 0u;
  event.data.u64 = kListenerKey;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listener_.get(), &event);
  accepting_ = on;
}

const char* TcpRelay::run(int stop_fd) {
  if (!epoll_) return "cannot create an epoll set";
  // The listener is level-triggered: a backlog left after a burst is seen on the next wait.
  if (!watch(stop_fd, kStopKey, EPOLLIN) || !watch(listener_.get(), kListenerKey, EPOLLIN)) {
    return "cannot watch the listening socket";
  }
  epoll_event events[256];
  while (true) {
    const int n = ::epoll_wait(epoll_.get(), events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return "epoll_wait failed";
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t key = events[i].data.u64;
      if (key == kStopKey) return nullptr;
      if (key == kListenerKey) {
        accept_clients();
      } else {
        handle_event(key, events[i].events);
      }
    }
  }
}

void TcpRelay::accept_clients() {
  for (int i = 0; i < kAcceptBurst; ++i) {
    const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      open_connection(UniqueFd(fd));
      continue;
    }
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      // Out of descriptors: stop accepting (instead of spinning) until a connection closes.
      log_warn("cannot accept more connections: {}; waiting for one to close", std::strerror(errno));
      set_accepting(false);
    }
    return;  // EAGAIN, or a client that gave up (ECONNABORTED): nothing more now
  }
}

void TcpRelay::open_connection(UniqueFd client) {
  auto c = std::make_unique<Connection>();
  c->id = next_id_++;
  c->client = std::move(client);
  c->backend.reset(::socket(container_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!c->backend || !make_pipe(c->up.pipe_read, c->up.pipe_write, pipe_capacity_) ||
      !make_pipe(c->down.pipe_read, c->down.pipe_write, pipe_capacity_)) {
    log_warn("dropping a connection: {}", std::strerror(errno));
    return;
  }
  set_no_delay(c->client.get());
  set_no_delay(c->backend.get());
  c->up.from = c->down.to = c->client.get();
  c->up.to = c->down.from = c->backend.get();
  const int rc = ::connect(c->backend.get(), reinterpret_cast<const sockaddr*>(&container_.address), container_.length);
  if (rc != 0 && errno != EINPROGRESS) {
    log_info("cannot connect to {}: {}", format_endpoint(container_), std::strerror(errno));
    return;  // the client sees its connection closed, as with docker-proxy
  }
  c->connecting = rc != 0;
  if (!watch(c->client.get(), key_of(c->id, false), kConnectionEvents) ||
      !watch(c->backend.get(), key_of(c->id, true), kConnectionEvents)) {
    return;
  }
  const uint64_t id = c->id;
  Connection& ref = *c;
  connections_.emplace(id, std::move(c));
  if (!ref.connecting && (!pump(ref.up) || !pump(ref.down))) close_connection(id);
}

bool TcpRelay::finish_connect(Connection& c) {
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(c.backend.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) {
    log_info("cannot connect to {}: {}", format_endpoint(container_), std::strerror(error));
    return false;
  }
  c.connecting = false;
  return true;
}

void TcpRelay::handle_event(uint64_t key, uint32_t events) {
  const uint64_t id = key >> 1;
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;  // closed earlier in this batch
  Connection& c = *it->second;
  bool just_connected = false;
  if (c.connecting) {
    // Client bytes wait in the kernel until the container answers; they are pumped then.
    if ((key & 1) == 0) return;
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
    if (!finish_connect(c)) {
      close_connection(id);
      return;
    }
    just_connected = true;  // client bytes that arrived meanwhile raised no new edge
  }
  // Pump only the directions this event can move: readable `from` or writable `to`. Errors and
  // hang-ups pump both, so a failure is noticed whichever side reported it.
  const bool on_backend = (key & 1) != 0;
  const bool failed = (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0 || just_connected;
  const bool readable = (events & EPOLLIN) != 0, writable = (events & EPOLLOUT) != 0;
  const bool move_up = failed || (on_backend ? writable : readable);
  const bool move_down = failed || (on_backend ? readable : writable);
  if ((move_up && !pump(c.up)) || (move_down && !pump(c.down)) || (c.up.shut && c.down.shut)) close_connection(id);
}

bool TcpRelay::pump(Direction& d) {
  while (true) {
    bool progress = false;
    if (d.pending > 0) {
      const ssize_t n = ::splice(d.pipe_read.get(), nullptr, d.to, nullptr, d.pending, kSpliceFlags);
      if (n > 0) {
        d.pending -= static_cast<size_t>(n);
        progress = true;
      } else if (n < 0 && !transient(errno)) {
        return false;  // the receiver is gone (EPIPE, ECONNRESET)
      }
    }
    if (!d.eof && d.pending < pipe_capacity_) {
      const ssize_t n = ::splice(d.from, nullptr, d.pipe_write.get(), nullptr, pipe_capacity_ - d.pending, kSpliceFlags);
      if (n > 0) {
        d.pending += static_cast<size_t>(n);
        progress = true;
      } else if (n == 0) {
        d.eof = true;
        progress = true;
      } else if (!transient(errno)) {
        return false;
      }
    }
    // Stopping without progress means the last attempts met EAGAIN: an edge will wake us.
    if (!progress) break;
  }
  if (d.eof && d.pending == 0 && !d.shut) {
    ::shutdown(d.to, SHUT_WR);
    d.shut = true;
  }
  return true;
}

void TcpRelay::close_connection(uint64_t id) {
  connections_.erase(id);  // closing the descriptors also removes them from the epoll set
  set_accepting(true);
}

}  // namespace portsafe::docker_proxy
