#include "server.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "portsafe/log.hpp"

namespace portsafe::supervisor {
namespace {

constexpr uint64_t kListenerTag = 0;
constexpr uint64_t kTimerTag = 1;
constexpr uint64_t kSignalTag = 2;
constexpr uint64_t kWatchTimerTag = 3;
// How often the table is looked at for new owners to watch: a process that claims and dies
// between two looks is reaped at the next one, so this bounds the reaping delay.
constexpr long kWatchIntervalNs = 20'000'000;
// Connections queued before an idle exit unlinked the socket still get served, this long at most.
constexpr int64_t kDrainMs = 2000;
// A connection whose peer is gone (or whose framing broke) is closed once its replies are out;
// if the peer takes none of them for this long, it never will: drop them and the connection.
constexpr int64_t kUndeliveredMs = 5000;

bool watch(int epoll_fd, int fd, uint64_t tag, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  return ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

}  // namespace

Server::Server(UniqueFd listener, PortTable& table, ServerOptions options)
    : listener_(std::move(listener)),
      table_(table),
      options_(std::move(options)),
      handler_(table, read_own_identity()),
      deaths_(table),
      euid_(::geteuid()),
      last_busy_ms_(monotonic_ms()) {}

Server::~Server() = default;

bool Server::set_up() {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  watch_timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  ::sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  signals_.reset(::signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!epoll_ || !timer_ || !watch_timer_ || !signals_) {
    log_error("cannot set up the event loop: {}", std::strerror(errno));
    return false;
  }
  // Each client costs a descriptor, each held port one or two: use all we are allowed.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  itimerspec every_second{};
  every_second.it_interval.tv_sec = 1;
  every_second.it_value.tv_sec = 1;
  ::timerfd_settime(timer_.get(), 0, &every_second, nullptr);
  itimerspec watch_interval{};
  watch_interval.it_interval.tv_nsec = kWatchIntervalNs;
  watch_interval.it_value.tv_nsec = kWatchIntervalNs;
  ::timerfd_settime(watch_timer_.get(), 0, &watch_interval, nullptr);
  if (!watch(epoll_.get(), listener_.get(), kListenerTag, EPOLLIN) ||
      !watch(epoll_.get(), timer_.get(), kTimerTag, EPOLLIN) ||
      !watch(epoll_.get(), watch_timer_.get(), kWatchTimerTag, EPOLLIN) ||
      !watch(epoll_.get(), signals_.get(), kSignalTag, EPOLLIN)) {
    log_error("cannot watch the event loop's descriptors: {}", std::strerror(errno));
    return false;
  }
  return true;
}

int Server::run() {
  if (!set_up()) return 1;
  epoll_event events[64];
  while (!stop_now_) {
    if (stopping_ && (connections_.empty() || monotonic_ms() >= stop_deadline_ms_)) break;
    const int n = ::epoll_wait(epoll_.get(), events, 64, stopping_ ? 100 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      log_error("epoll_wait failed: {}", std::strerror(errno));
      return 1;
    }
    for (int i = 0; i < n && !stop_now_; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (DeathWatch::is_watch_tag(tag)) {
        deaths_.on_exit(tag, monotonic_ms());
      } else if (tag == kListenerTag) {
        accept_clients();
      } else if (tag == kWatchTimerTag) {
        uint64_t expirations;
        while (::read(watch_timer_.get(), &expirations, sizeof expirations) > 0) {
        }
        watch_owners();
      } else if (tag == kTimerTag) {
        uint64_t expirations;
        while (::read(timer_.get(), &expirations, sizeof expirations) > 0) {
        }
        sweep();
      } else if (tag == kSignalTag) {
        signalfd_siginfo info{};
        if (::read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          log_info("stopping on signal {}", info.ssi_signo);
        }
        stop_now_ = true;
      } else if (auto it = connections_.find(tag); it != connections_.end()) {
        serve(*it->second, events[i].events);
      }
    }
  }
  if (!stopping_ && !options_.socket_path.empty()) ::unlink(options_.socket_path.c_str());
  if (stop_now_) {
    // Stopped by a signal (a restart, a shutdown): the holds of jobs still running are left for
    // the next supervisor, and their launchers hold them again through it. Left before the
    // connections close, so no launcher reconnects while its placeholders are still ours.
    if (const size_t left = handler_.keeper().leave_for_successor(); left > 0) {
      log_info("left {} hold(s) of running jobs for the next supervisor", left);
    }
  }
  connections_.clear();
  handler_.keeper().release_all();
  return 0;
}

bool Server::peer_allowed(const ucred& peer) const {
  // The user's own processes, and root (dockerd runs as root and hands us docker-proxy requests).
  return peer.uid == euid_ || peer.uid == 0;
}

void Server::accept_clients() {
  while (true) {
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: the pending client would wake us forever. Wait for one to close.
        log_warn("accept failed: {}; new clients wait until one disconnects", std::strerror(errno));
        pause_accepting();
      } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        log_warn("accept failed: {}", std::strerror(errno));
      }
      return;
    }
    ucred peer{};
    socklen_t length = sizeof peer;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) continue;
    if (!peer_allowed(peer)) {
      // Not a byte of reply: another user learns nothing from us.
      log_warn("refused a client of uid {} (pid {}): only uid {} and root are served", peer.uid, peer.pid, euid_);
      continue;
    }
    const uint64_t id = next_id_++;
    auto connection = std::make_unique<Connection>(id, std::move(fd), peer);
    if (!watch(epoll_.get(), connection->fd(), id, EPOLLIN | EPOLLRDHUP)) {
      log_warn("cannot watch a client: {}", std::strerror(errno));
      continue;
    }
    log_debug("connection {} from pid {} uid {}", id, peer.pid, peer.uid);
    connections_.emplace(id, std::move(connection));
  }
}

void Server::serve(Connection& connection, uint32_t events) {
  bool peer_gone = false;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 && !connection.backlogged() &&
      !connection.closing()) {
    const auto result = connection.read_available();
    if (result == Connection::ReadResult::failed) {
      close_connection(connection.id());
      return;
    }
    peer_gone = result == Connection::ReadResult::peer_closed;
    answer_frames(connection);
  }
  if (!connection.flush()) {
    close_connection(connection.id());
    return;
  }
  // A client that left (even mid-frame) or whose framing broke is done once its replies are out.
  if ((peer_gone || connection.closing()) && !connection.wants_write()) {
    close_connection(connection.id());
    return;
  }
  if (peer_gone && connection.wants_write()) {
    // It may still read the replies after a half-close; EPOLLOUT drives the rest.
    connection.close_after_flush();
  }
  update_interest(connection);
}

void Server::answer_frames(Connection& connection) {
  while (!connection.closing() && !connection.backlogged()) {
    auto event = connection.frames().next();
    if (!event) break;
    last_busy_ms_ = monotonic_ms();
    if (event->kind == FrameEvent::Kind::problem) {
      log_info("connection {}: {}", connection.id(), event->error.message);
      connection.queue_reply(make_error_reply(event->error));
      if (event->close) connection.close_after_flush();
      continue;
    }
    auto parsed = parse_request(event->type, event->payload);
    if (auto* error = std::get_if<wire::ErrorReply>(&parsed)) {
      log_info("connection {}: {}", connection.id(), error->message);
      connection.queue_reply(make_error_reply(*error));
      continue;
    }
    connection.queue_reply(handler_.handle(connection.peer(), std::get<Request>(parsed)));
  }
}

void Server::update_interest(Connection& connection) {
  epoll_event ev{};
  ev.data.u64 = connection.id();
  // Level-triggered EPOLLRDHUP stays ready for good once the peer half-closed: watching it on a
  // connection we no longer read from (backlogged, or closing after the peer left) would wake
  // the loop at once, forever. Such a connection waits for EPOLLOUT only (EPOLLHUP and EPOLLERR
  // are always reported, so a peer that closes completely is still noticed).
  ev.events = 0;
  if (!connection.backlogged() && !connection.closing()) ev.events |= EPOLLIN | EPOLLRDHUP;
  if (connection.wants_write()) ev.events |= EPOLLOUT;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, connection.fd(), &ev);
}

void Server::close_connection(uint64_t id) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second->fd(), nullptr);
  // The connection is the job: its ports go back the moment it closes (exit or SIGKILL alike).
  handler_.end_connection(id);
  connections_.erase(it);
  resume_accepting();
}

void Server::pause_accepting() {
  if (!accepting_) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener_.get(), nullptr);
  accepting_ = false;
}

void Server::resume_accepting() {
  // An exiting supervisor took in its backlog once and accepts no more (see begin_stopping).
  if (accepting_ || stopping_) return;
  accepting_ = watch(epoll_.get(), listener_.get(), kListenerTag, EPOLLIN);
}

void Server::sweep() {
  const int64_t now = monotonic_ms();
  // Accepting paused when descriptors or memory ran out; retry each sweep rather than wait for
  // a connection to close (long-lived job connections may never do so).
  resume_accepting();
  drop_undelivered(now);
  handler_.keeper().tend_orphans(now);
  if (const size_t reaped = table_.reap(now); reaped > 0) log_debug("sweep reaped {} slot(s)", reaped);
  if (handler_.has_jobs() || !handler_.keeper().empty()) last_busy_ms_ = now;
  if (stopping_ || options_.idle_timeout.count() == 0) return;
  if (now - last_busy_ms_ >= options_.idle_timeout.count() * 1000) begin_stopping();
}

void Server::watch_owners() {
  for (const DeathWatch::Added& added : deaths_.refresh(monotonic_ms())) {
    // Readable once the process has exited; its death is handled in on_exit.
    if (!watch(epoll_.get(), added.fd, added.tag, EPOLLIN)) log_warn("cannot watch a pidfd: {}", std::strerror(errno));
  }
}

void Server::drop_undelivered(int64_t now) {
  std::vector<uint64_t> stalled;
  for (const auto& [id, connection] : connections_) {
    if (connection->closing() && connection->wants_write() && now - connection->last_progress_ms() >= kUndeliveredMs) {
      stalled.push_back(id);
    }
  }
  for (const uint64_t id : stalled) {
    log_info("connection {}: the peer left and read no reply for {} s; dropping them", id, kUndeliveredMs / 1000);
    close_connection(id);
  }
}

void Server::begin_stopping() {
  log_info("idle for {} s: exiting", options_.idle_timeout.count());
  stopping_ = true;
  handler_.refuse_new_jobs();
  stop_deadline_ms_ = monotonic_ms() + kDrainMs;
  // New clients find no socket and start a new supervisor; ones already queued are still served.
  if (!options_.socket_path.empty()) ::unlink(options_.socket_path.c_str());
  // Clients that connected just before the unlink are in the backlog: take them in to serve
  // (they are refused with `stopping` and reconnect), then accept no more. Under systemd the
  // socket stays: later clients wait in its queue for the next activation instead of meeting
  // this exiting supervisor again and again.
  if (accepting_) accept_clients();
  pause_accepting();
}

}  // namespace portsafe::supervisor
