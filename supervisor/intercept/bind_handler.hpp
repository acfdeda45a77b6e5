// Serves the seccomp notifications of a job's binds, in portsafe-run (a thread of it; see
// README.md here for why). For each notified bind() of a TCP/UDP inet socket it reads the address
// from the target, takes the socket with pidfd_getfd, applies the core's claim rules (the same
// code the preload shim runs) binding the duplicate, and answers 0 or -errno. Other binds
// (AF_UNIX, netlink, raw...) are answered SECCOMP_USER_NOTIF_FLAG_CONTINUE: portsafe has no say
// in them, so a continued call decides nothing that matters.
#pragma once

#include <linux/seccomp.h>

#include <atomic>
#include <string>
#include <unordered_set>
#include <vector>

#include "intercept/claim_tracker.hpp"
#include "portsafe/port_table.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::intercept {

struct HandlerSettings {
  PortRange job_range;
  ProcessIdentity owner;  // who owns the claims: the handler's process (portsafe-run)
  uint64_t job_id = 0;
  std::string job_name;
  uint32_t linger_ms = kDefaultLingerMs;
  int sweep_interval_ms = 100;  // how often gone sockets are looked for while claims exist
};

struct HandlerCounters {
  uint64_t notifications = 0, coordinated = 0, continued = 0, lost = 0;
};

class BindHandler {
 public:
  BindHandler(UniqueFd listener, PortTable& table, HandlerSettings settings);
  ~BindHandler();
  BindHandler(const BindHandler&) = delete;
  BindHandler& operator=(const BindHandler&) = delete;

  // Serves until stop_fd turns readable (returns an empty string) or the listener fails (returns
  // why). Every claim left is released before it returns.
  std::string serve(int stop_fd);

  // Receives and answers one notification (blocking). False when the listener failed.
  bool handle_one();
  ClaimTracker& tracker() noexcept { return tracker_; }
  HandlerCounters counters() const noexcept { return counters_; }
  int listener() const noexcept { return listener_.get(); }

 private:
  struct Answer {
    int error = 0;
    bool proceed = false;   // SECCOMP_USER_NOTIF_FLAG_CONTINUE
    bool answered = false;  // decide() sent it already (it must know whether the send worked)
  };
  Answer decide(const seccomp_notif& request);
  bool send_answer(uint64_t id, const Answer& answer, uint64_t bound_inode);

  UniqueFd listener_;
  PortTable& table_;
  HandlerSettings settings_;
  Claimant claimant_;
  ClaimTracker tracker_;
  std::atomic<uint32_t> fallbacks_in_a_row_{0};  // this job's seccomp picks that fell back since the last pick
  uint64_t netns_cookie_ = 0;  // our network namespace (0: the kernel cannot tell, before 5.14)
  std::vector<unsigned char> request_buffer_;
  std::vector<unsigned char> response_buffer_;
  // Sockets we bound whose answer found no waiting call (a signal interrupted it): the program's
  // retry must get 0, not EINVAL for binding twice.
  std::unordered_set<uint64_t> bound_unanswered_;
  HandlerCounters counters_;
};

}  // namespace portsafe::intercept
