#include "intercept/bind_handler.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "intercept/target_access.hpp"
#include "portsafe/bind_rules.hpp"
#include "portsafe/log.hpp"

namespace portsafe::intercept {
namespace {

// In the table's range and not reserved (reserved ports are excluded for both protocols alike).
bool covers_port(const PortTable& table, uint16_t port) {
  const SlotRef ref = table.ref_of(Protocol::tcp, port);
  return ref.valid() && slot_word::state(ref.word) != SlotState::excluded;
}

// Linux 6.6: the answer wakes the target on the handler's CPU, a round trip of ~3 µs instead of
// ~12 µs (two processes ping-ponging). Not in Debian 12's headers.
constexpr unsigned long kNotifSetFlags = SECCOMP_IOW(4, __u64);
constexpr uint64_t kSyncWakeUp = 1;

// The duplicate of the program's socket, as the core's claim rules see it.
class HandlerSite final : public BindSite {
 public:
  HandlerSite(int fd, uint32_t pid, Protocol proto, uint64_t inode, ClaimTracker& tracker) noexcept
      : fd_(fd), pid_(pid), proto_(proto), inode_(inode), tracker_(tracker) {}

  int bind(const struct sockaddr* addr, socklen_t length) noexcept override {
    return ::bind(fd_, addr, length) == 0 ? 0 : errno;
  }
  std::optional<int> int_option(int level, int name) noexcept override {
    int value = 0;
    socklen_t length = sizeof value;
    if (::getsockopt(fd_, level, name, &value, &length) != 0) return std::nullopt;
    return value;
  }
  void set_int_option(int level, int name, int value) noexcept override {
    (void)::setsockopt(fd_, level, name, &value, sizeof value);
  }
  void remember(const SlotRef& ref, uint16_t port) noexcept override {
    try {
      tracker_.add(TrackedClaim{ref, proto_, port, inode_, false});
    } catch (...) {
      // Out of memory: the claim stays the job's until portsafe-run ends (its owner dies).
    }
  }
  bool release_gone_claims() noexcept override {
    try {
      return tracker_.sweep() > 0;
    } catch (...) {
      return false;
    }
  }
  void note(const BindNote& note) noexcept override;

 private:
  int fd_;
  uint32_t pid_;
  Protocol proto_;
  uint64_t inode_;
  ClaimTracker& tracker_;
};

void HandlerSite::note(const BindNote& note) noexcept {
  try {
    const char* proto = protocol_name(note.proto);
    switch (note.event) {
      case BindEvent::picked:
        log_info("seccomp: pid {} bind {} port 0 -> picked {}", pid_, proto, note.port);
        break;
      case BindEvent::outsider_skipped:
        log_debug("seccomp: {} port {} is in use outside portsafe; trying the next", proto, note.port);
        break;
      case BindEvent::fallback_full:
      case BindEvent::fallback_outsiders:
        log_warn("warning: {} range {}-{} {}; letting the kernel choose a port for pid {} (widen PORTSAFE_RANGE or run "
                 "fewer jobs)",
                 proto, note.range.low, note.range.high,
                 note.event == BindEvent::fallback_full ? "is full" : "is taken by programs running without portsafe",
                 pid_);
        break;
      case BindEvent::fallback_host:
        log_warn("warning: {} ports: this account's blocks of {}-{} are full and the host daemon leased no more; "
                 "letting the kernel choose a port for pid {}",
                 proto, note.range.low, note.range.high, pid_);
        break;
      case BindEvent::claimed:
        log_info("seccomp: pid {} bind {} port {}: claimed for the job", pid_, proto, note.port);
        break;
      case BindEvent::own_held:
        log_info("seccomp: pid {} bind {} port {}: held for this job; SO_REUSEADDR set", pid_, proto, note.port);
        break;
      case BindEvent::other_job:
        log_info("seccomp: pid {} bind {} port {} refused (EADDRINUSE): job '{}' (pid {}) holds it", pid_, proto,
                 note.port, static_cast<const char*>(note.holder->job_name), note.holder->pid);
        break;
      case BindEvent::other_account:
        log_info("seccomp: pid {} bind {} port {} refused (EADDRINUSE): another account has it", pid_, proto, note.port);
        break;
    }
  } catch (...) {
  }
}

// The network namespace a socket belongs to (Linux 5.14+), 0 when the kernel cannot say.
uint64_t netns_cookie_of(int fd) noexcept {
  uint64_t cookie = 0;
  socklen_t length = sizeof cookie;
  return ::getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &length) == 0 ? cookie : 0;
}

uint64_t own_netns_cookie() noexcept {
  UniqueFd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  return probe ? netns_cookie_of(probe.get()) : 0;
}

bool is_bound(int fd) noexcept {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return false;
  return inet_address_port(reinterpret_cast<const sockaddr*>(&address), length).value_or(0) != 0;
}

uint64_t inode_of(int fd) noexcept {
  struct stat info {};
  return ::fstat(fd, &info) == 0 ? static_cast<uint64_t>(info.st_ino) : 0;
}

seccomp_notif_sizes notification_sizes() {
  seccomp_notif_sizes sizes{};
  if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
    sizes.seccomp_notif = sizeof(seccomp_notif);
    sizes.seccomp_notif_resp = sizeof(seccomp_notif_resp);
  }
  return sizes;
}

}  // namespace

BindHandler::BindHandler(UniqueFd listener, PortTable& table, HandlerSettings settings)
    : listener_(std::move(listener)),
      table_(table),
      settings_(std::move(settings)),
      tracker_(table, settings_.owner) {
  claimant_.process = settings_.owner;
  claimant_.job_id = settings_.job_id;
  claimant_.job_name = settings_.job_name.c_str();
  claimant_.linger_ms = settings_.linger_ms;
  const seccomp_notif_sizes sizes = notification_sizes();
  request_buffer_.resize(std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)));
  response_buffer_.resize(std::max<size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp)));
  netns_cookie_ = own_netns_cookie();
  uint64_t flags = kSyncWakeUp;
  if (::ioctl(listener_.get(), kNotifSetFlags, flags) != 0) log_debug("seccomp: no synchronous wake-up (kernel before 6.6)");
}

BindHandler::~BindHandler() = default;

BindHandler::Answer BindHandler::decide(const seccomp_notif& request) {
  // What portsafe has no say in, or cannot see, the kernel does as it would have.
  const auto proceed = [&](const char* why) {
    log_debug("seccomp: pid {} bind continues: {}", request.pid, why);
    return Answer{0, true};
  };
  if (request.data.nr != __NR_bind) return proceed("not bind");
  // A length the kernel refuses (EINVAL) must stay refused: we would bind our copy otherwise.
  if ((request.data.args[2] & 0xffffffffu) > sizeof(sockaddr_storage)) return proceed("address too long");
  const auto address = read_bind_address(listener_.get(), request);
  if (!address) return proceed("address unreadable or caller gone");
  const auto* addr = reinterpret_cast<const sockaddr*>(&address->storage);
  const auto port = inet_address_port(addr, address->length);
  if (!port) return Answer{0, true};  // not an inet address: not ours (quietly: AF_UNIX is common)
  // A port the table does not cover (a privileged port, one above the range, a reserved one) is
  // the kernel's to decide, against the caller's own privileges (CAP_NET_BIND_SERVICE, LSMs):
  // binding it here would do it with portsafe-run's.
  if (*port != 0 && !covers_port(table_, *port)) return proceed("port outside portsafe's range");
  UniqueFd socket = take_target_descriptor(listener_.get(), request);
  if (!socket) return proceed("descriptor not taken (caller gone, or not a descriptor)");
  int type = 0, protocol = 0;
  socklen_t length = sizeof type;
  if (::getsockopt(socket.get(), SOL_SOCKET, SO_TYPE, &type, &length) != 0) return proceed("not a socket");
  length = sizeof protocol;
  if (::getsockopt(socket.get(), SOL_SOCKET, SO_PROTOCOL, &protocol, &length) != 0) return proceed("not a socket");
  const auto proto = inet_protocol(type, protocol);
  if (!proto) return Answer{0, true};  // raw, SCTP, MPTCP...: not coordinated
  // Ports are per network namespace: the table is this one's. A process of the job that made its
  // own namespace (unshare -n, a rootless container) binds in a port space nobody else shares.
  if (netns_cookie_ != 0 && netns_cookie_of(socket.get()) != netns_cookie_) return proceed("another network namespace");
  const uint64_t inode = inode_of(socket.get());
  // A retried call we already served (its answer found it interrupted) is told it worked, if its
  // socket really is bound.
  if (is_retry_of_unanswered(inode, *address) && is_bound(socket.get())) return Answer{0, false};

  ++counters_.coordinated;
  // The claim's label names the tier and the process that really bound (the owner is us):
  // `portsafe status` shows it in its NAME column.
  char label[kNameBytes];
  std::snprintf(label, sizeof label, "seccomp pid %u", request.pid);
  claimant_.label = label;
  const BindScope scope{table_,
                        settings_.job_range,
                        claimant_,
                        &fallbacks_in_a_row_,
                        settings_.host.get(),
                        settings_.kernel_virtual.empty() ? nullptr : &settings_.kernel_virtual};
  HandlerSite site(socket.get(), request.pid, *proto, inode, tracker_);
  BindRequest bind;
  bind.addr = addr;
  bind.length = address->length;
  bind.proto = *proto;
  bind.port = *port;
  const int error = coordinated_inet_bind(scope, bind, site);
  claimant_.label = nullptr;
  // Every notification served says so at -v (some rules' answers note nothing, e.g. a port the
  // job already has bound): what shows that the shim's own binds never come this way.
  log_info("seccomp: pid {} bind {} port {} served: {}", request.pid, protocol_name(*proto), *port,
           error == 0 ? "bound" : std::strerror(error));
  if (settings_.before_answer) settings_.before_answer(request);
  // process holds the calling thread until the answer is lost (send_answer then looks it up).
  const UnansweredBind bound{inode, *address, static_cast<pid_t>(request.pid)};
  send_answer(request.id, Answer{error, false, false}, error == 0 ? &bound : nullptr);
  return Answer{error, false, true};
}

bool BindHandler::is_retry_of_unanswered(uint64_t inode, const TargetAddress& asked) {
  const auto entry = std::find_if(bound_unanswered_.begin(), bound_unanswered_.end(),
                                  [&](const UnansweredBind& bound) { return bound.inode == inode; });
  if (entry == bound_unanswered_.end()) return false;
  // A call with another address is not the retry: binding the socket again gets the kernel's
  // EINVAL, as without us. Either way the entry has served.
  const bool same = entry->asked.length == asked.length &&
                    std::memcmp(&entry->asked.storage, &asked.storage, asked.length) == 0;
  bound_unanswered_.erase(entry);
  return same;
}

// A process that is gone retries nothing (its socket is closed with it): without this, every
// lost answer would be remembered until portsafe-run ends.
void BindHandler::forget_unanswered_of_gone_processes() {
  std::erase_if(bound_unanswered_, [](const UnansweredBind& bound) {
    return bound.process <= 0 || (::kill(bound.process, 0) != 0 && errno == ESRCH);
  });
}

size_t BindHandler::sweep() {
  const size_t released = tracker_.sweep();
  forget_unanswered_of_gone_processes();
  return released;
}

bool BindHandler::send_answer(uint64_t id, const Answer& answer, const UnansweredBind* bound) {
  std::fill(response_buffer_.begin(), response_buffer_.end(), 0);
  auto& response = *reinterpret_cast<seccomp_notif_resp*>(response_buffer_.data());
  response.id = id;
  if (answer.proceed) {
    response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  } else {
    response.error = -answer.error;
  }
  while (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, &response) != 0) {
    if (errno == EINTR) continue;
    // ENOENT: the call is no longer waiting (its thread died, or a signal interrupted it and it
    // will be retried).
    ++counters_.lost;
    log_debug("seccomp: answer {} found no waiting call ({})", id, std::strerror(errno));
    if (bound != nullptr) {
      try {
        UnansweredBind entry = *bound;
        entry.process = process_of(static_cast<pid_t>(entry.process));
        bound_unanswered_.push_back(entry);
      } catch (...) {
        // Out of memory: the retry gets EINVAL, as it would without the handler's help.
      }
    }
    return false;
  }
  return true;
}

bool BindHandler::handle_one() {
  std::fill(request_buffer_.begin(), request_buffer_.end(), 0);
  auto& request = *reinterpret_cast<seccomp_notif*>(request_buffer_.data());
  if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) {
    // ENOENT: the target died (or was interrupted) before we received it; EINTR: a signal.
    return errno == ENOENT || errno == EINTR;
  }
  ++counters_.notifications;
  const Answer answer = decide(request);
  if (answer.answered) return true;
  if (answer.proceed) ++counters_.continued;
  send_answer(request.id, answer, nullptr);
  return true;
}

// A look at the kernel's TCP sockets costs about 1 ms of CPU (the dump walks the kernel's TCP
// hash tables, however few sockets match), so the looks slow down while nothing ends: every
// sweep_interval_ms after a new claim or a release, doubling up to this. A pick that finds the
// range full looks at once anyway.
constexpr int kMaxSweepIntervalMs = 1600;

std::string BindHandler::serve(int stop_fd) {
  bool listening = true;
  std::string reason;
  int64_t last_sweep = monotonic_ms();
  int interval = settings_.sweep_interval_ms;
  while (true) {
    pollfd fds[2] = {{stop_fd, POLLIN, 0}, {listener_.get(), POLLIN, 0}};
    const int64_t due_in = last_sweep + interval - monotonic_ms();
    const int timeout = tracker_.empty() ? -1 : static_cast<int>(std::max<int64_t>(0, due_in));
    const int ready = ::poll(fds, listening ? 2 : 1, timeout);
    if (ready < 0 && errno != EINTR) {
      reason = std::string("poll: ") + std::strerror(errno);
      break;
    }
    if (ready > 0 && fds[0].revents != 0) break;
    if (listening && ready > 0 && (fds[1].revents & POLLIN) != 0) {
      const size_t claims = tracker_.size();
      if (!handle_one()) {
        reason = std::string("receiving a notification: ") + std::strerror(errno);
        break;
      }
      if (tracker_.size() > claims) interval = settings_.sweep_interval_ms;
      // Answer first; under a stream of binds, look for gone sockets once per interval.
      if (monotonic_ms() - last_sweep < interval) continue;
    }
    // POLLHUP: no process uses the filter any more; nothing will come.
    if (listening && ready > 0 && (fds[1].revents & (POLLHUP | POLLERR)) != 0) listening = false;
    const size_t released = sweep();
    interval = released > 0 ? settings_.sweep_interval_ms : std::min(interval * 2, kMaxSweepIntervalMs);
    last_sweep = monotonic_ms();
  }
  tracker_.release_all();
  return reason;
}

}  // namespace portsafe::intercept
