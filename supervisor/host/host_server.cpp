#include "host_server.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "portsafe/log.hpp"

namespace portsafe::host {
namespace {

// The largest request: host_lease with a table name of kNameBytes - 1 characters.
constexpr size_t kMaxRequest = wire::kHeaderSize + 2 + kNameBytes;
constexpr int kListenerTag = -1;
constexpr int kSignalTag = -2;
constexpr int kAcceptsPerTurn = 64;

// False when the peer's processes live in another PID namespace than ours: the pids in its table
// would then name other processes (or none) here, so its claims' liveness cannot be checked.
// A peer in a namespace we cannot see at all has pid 0 in SO_PEERCRED. Gone already: no matter.
bool in_our_pid_namespace(pid_t pid) {
  if (pid <= 0) return false;
  static const struct stat ours = [] {
    struct stat st {};
    ::stat("/proc/self/ns/pid", &st);
    return st;
  }();
  struct stat theirs {};
  if (ours.st_ino == 0) return true;  // no /proc: cannot tell, as before
  if (::stat(fmt::format("/proc/{}/ns/pid", pid).c_str(), &theirs) != 0) return true;
  return ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev;
}

std::vector<uint8_t> error_frame(wire::ErrorCode code, const std::string& message) {
  return wire::make_frame(wire::MessageType::error, wire::encode(wire::ErrorReply{code, message}));
}

}  // namespace

struct HostServer::Client {
  UniqueFd fd;
  uid_t uid = 0;
  pid_t pid = 0;  // SO_PEERCRED's, in our PID namespace (0: not visible from it)
  int64_t since_ms = 0;  // when the request being read began (or the connection opened)
  uint8_t in[kMaxRequest] = {};
  size_t have = 0;
};

size_t connection_limit(uint64_t open_files) noexcept {
  if (open_files <= kReservedDescriptors) return 0;
  return static_cast<size_t>(std::min<uint64_t>(kMaxConnections, open_files - kReservedDescriptors));
}

uint64_t raise_open_files_limit() noexcept {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return 1024;  // the usual default soft limit
  if (files.rlim_cur < files.rlim_max) {
    rlimit raised = files;
    raised.rlim_cur = files.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) files = raised;
  }
  return files.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(files.rlim_cur);
}

HostServer::HostServer(UniqueFd listener, LeaseBook& book, ServerSettings settings)
    : listener_(std::move(listener)), book_(book), settings_(settings) {}

HostServer::~HostServer() = default;

bool HostServer::set_up() {
  max_connections_ = connection_limit(raise_open_files_limit());
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return false;
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  ::sigprocmask(SIG_BLOCK, &stop, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  signals_.reset(::signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals_) return false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = kListenerTag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &ev) != 0) return false;
  ev.data.fd = kSignalTag;
  return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, signals_.get(), &ev) == 0;
}

int HostServer::run() {
  if (!set_up()) {
    log_error("host daemon: cannot set up its event loop: {}", std::strerror(errno));
    return 1;
  }
  last_request_ms_ = monotonic_ms();
  next_sweep_ms_ = last_request_ms_ + kSweepIntervalMs;
  epoll_event events[64];
  for (;;) {
    int64_t now = monotonic_ms();
    const int64_t wait = std::max<int64_t>(0, std::min<int64_t>(next_sweep_ms_ - now, 100));
    const int ready = ::epoll_wait(epoll_.get(), events, 64, static_cast<int>(wait));
    if (ready < 0 && errno != EINTR) {
      log_error("host daemon: epoll_wait: {}", std::strerror(errno));
      return 1;
    }
    now = monotonic_ms();
    for (int i = 0; i < ready; ++i) {
      const int tag = events[i].data.fd;
      if (tag == kSignalTag) {
        log_info("host daemon: stopping on a signal");
        return 0;
      }
      if (tag == kListenerTag) {
        accept_clients(now);
        continue;
      }
      const auto found = clients_.find(tag);
      if (found == clients_.end()) continue;
      if ((events[i].events & (EPOLLHUP | EPOLLERR)) != 0 && (events[i].events & EPOLLIN) == 0) {
        close_client(tag);
        continue;
      }
      serve(*found->second, now);
    }
    close_stale(now);
    if (listener_paused_ && now >= resume_listener_ms_) resume_listener();
    if (now >= next_sweep_ms_) {
      if (const size_t freed = book_.reclaim_idle(now); freed > 0) log_info("host daemon: {} idle block(s) reclaimed", freed);
      next_sweep_ms_ = monotonic_ms() + kSweepIntervalMs;
    }
    if (settings_.idle_timeout.count() > 0 && clients_.empty() &&
        now - last_request_ms_ >= static_cast<int64_t>(settings_.idle_timeout.count()) * 1000) {
      log_info("host daemon: idle for {} s, exiting (the registry stays)", settings_.idle_timeout.count());
      return 0;
    }
  }
}

void HostServer::accept_clients(int64_t now) {
  for (int n = 0; n < kAcceptsPerTurn; ++n) {
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      // Out of descriptors: the connection stays in the backlog and the level-triggered listener
      // readable, so epoll would wake us at once, forever. Step back until an fd comes free.
      if (errno == EMFILE || errno == ENFILE) pause_listener(now);
      return;  // EAGAIN: the backlog is empty
    }
    ucred peer{};
    socklen_t length = sizeof peer;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) continue;
    // One account's flood of connections is cut at accept: the others' still get in.
    if (clients_.size() >= max_connections_ || per_uid_[peer.uid] >= kMaxConnectionsPerUid) continue;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd.get();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) continue;
    auto client = std::make_unique<Client>();
    client->uid = peer.uid;
    client->pid = peer.pid;
    client->since_ms = now;
    const int key = fd.get();
    client->fd = std::move(fd);
    ++per_uid_[peer.uid];
    clients_[key] = std::move(client);
  }
}

void HostServer::serve(Client& client, int64_t now) {
  const int key = client.fd.get();
  // Read only what the current request still needs: the header, then its (bounded) payload.
  size_t needed = wire::kHeaderSize;
  if (client.have >= wire::kHeaderSize) {
    uint8_t head[wire::kHeaderSize];
    std::memcpy(head, client.in, wire::kHeaderSize);
    needed += wire::decode_header(head).length;
  }
  const ssize_t n = ::recv(key, client.in + client.have, needed - client.have, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    close_client(key);
    return;
  }
  if (n < 0) return;
  client.have += static_cast<size_t>(n);
  if (client.have == wire::kHeaderSize) {
    uint8_t head[wire::kHeaderSize];
    std::memcpy(head, client.in, wire::kHeaderSize);
    const wire::FrameHeader header = wire::decode_header(head);
    if (header.magic != wire::kMagic || header.version != wire::kVersion ||
        header.length > kMaxRequest - wire::kHeaderSize) {
      const auto frame = error_frame(wire::ErrorCode::bad_frame, "not a host daemon request");
      [[maybe_unused]] const ssize_t sent = ::send(key, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      close_client(key);
      return;
    }
    needed = wire::kHeaderSize + header.length;
  }
  if (client.have < wire::kHeaderSize || client.have < needed) return;
  uint8_t head[wire::kHeaderSize];
  std::memcpy(head, client.in, wire::kHeaderSize);
  const wire::FrameHeader header = wire::decode_header(head);
  last_request_ms_ = now;
  if (!answer(client, header.type, client.in + wire::kHeaderSize, header.length, now)) {
    close_client(key);
    return;
  }
  client.have = 0;
  client.since_ms = now;
}

bool HostServer::answer(Client& client, uint16_t type, const uint8_t* payload, uint32_t length, int64_t now) {
  std::vector<uint8_t> frame;
  bool keep = true;
  wire::WireReader fields(payload, length);
  switch (static_cast<wire::MessageType>(type)) {
    case wire::MessageType::host_lease: {
      const std::string table = fields.str();
      if (!fields.finish()) {
        frame = error_frame(wire::ErrorCode::bad_payload, "host_lease: str table_name");
        break;
      }
      // Checked per lease (rare), not per accept: accept must stay cheap under a flood.
      if (!in_our_pid_namespace(client.pid)) {
        frame = error_frame(wire::ErrorCode::not_permitted,
                            "no lease: your processes are in another PID namespace than the host daemon, which "
                            "cannot check their pids; run the host daemon in that namespace, or this account "
                            "coordinates only its own jobs");
        break;
      }
      const LeaseDecision decision = book_.lease(client.uid, table, now);
      if (decision.granted) {
        frame = wire::make_frame(wire::MessageType::host_leased,
                                 wire::WireWriter().u32(decision.block).u32(decision.generation).bytes());
        log_info("host daemon: block {} leased to uid {} ({})", decision.block, client.uid, table);
      } else {
        frame = error_frame(decision.code, decision.message);
      }
      break;
    }
    case wire::MessageType::host_query: {
      const uint8_t proto = fields.u8();
      const uint16_t port = fields.u16();
      if (!fields.finish() || proto >= kProtocolCount) {
        frame = error_frame(wire::ErrorCode::bad_payload, "host_query: u8 proto, u16 port");
        break;
      }
      const bool taken = book_.taken_for(client.uid, static_cast<Protocol>(proto), port, now);
      frame = wire::make_frame(wire::MessageType::host_port, wire::WireWriter().u8(taken ? 1 : 0).bytes());
      break;
    }
    default:
      frame = error_frame(wire::ErrorCode::unknown_type, "the host daemon answers host_lease and host_query only");
      keep = false;
      break;
  }
  // A reply the socket does not take whole at once is never waited for.
  const ssize_t sent = ::send(client.fd.get(), frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return keep && sent == static_cast<ssize_t>(frame.size());
}

void HostServer::close_client(int fd) {
  const auto found = clients_.find(fd);
  if (found == clients_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  if (auto count = per_uid_.find(found->second->uid); count != per_uid_.end() && --count->second == 0) {
    per_uid_.erase(count);
  }
  clients_.erase(found);
  resume_listener();  // a descriptor came free: a paused listener may accept again
}

void HostServer::pause_listener(int64_t now) {
  if (listener_paused_) return;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener_.get(), nullptr) != 0) return;
  listener_paused_ = true;
  resume_listener_ms_ = now + kAcceptBackoffMs;
  if (!warned_out_of_descriptors_) {
    warned_out_of_descriptors_ = true;  // once: a lasting shortage would fill the log
    log_warn("host daemon: out of file descriptors at accept; new connections wait (retried every {} ms)",
             kAcceptBackoffMs);
  }
}

void HostServer::resume_listener() {
  if (!listener_paused_) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = kListenerTag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &ev) == 0) listener_paused_ = false;
}

void HostServer::close_stale(int64_t now) {
  std::vector<int> stale;
  for (const auto& [fd, client] : clients_) {
    if (now - client->since_ms >= kRequestTimeoutMs) stale.push_back(fd);
  }
  for (const int fd : stale) close_client(fd);
}

}  // namespace portsafe::host
