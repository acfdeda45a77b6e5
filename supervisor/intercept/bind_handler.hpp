// Serves the seccomp notifications of a job's binds, in portsafe-run (a thread of it; see
// README.md here for why). For each notified bind() of a TCP/UDP inet socket it reads the address
// from the target, takes the socket with pidfd_getfd, applies the core's claim rules (the same
// code the preload shim runs) binding the duplicate, and answers 0 or -errno. Other binds
// (AF_UNIX, netlink, raw...) are answered SECCOMP_USER_NOTIF_FLAG_CONTINUE: portsafe has no say
// in them, so a continued call decides nothing that matters.
#pragma once

#include <linux/seccomp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "intercept/claim_tracker.hpp"
#include "intercept/target_access.hpp"
#include "portsafe/host_leases.hpp"
#include "portsafe/port_table.hpp"
#include "portsafe/unique_fd.hpp"
#include "portsafe/virtual_ports.hpp"

namespace portsafe::intercept {

struct HandlerSettings {
  PortRange job_range;
  ProcessIdentity owner;  // who owns the claims: the handler's process (portsafe-run)
  uint64_t job_id = 0;
  std::string job_name;
  uint32_t linger_ms = kDefaultLingerMs;
  int sweep_interval_ms = 100;  // how often gone sockets are looked for while claims exist
  // Host-wide coordination for the job's picks (the same rules the shim applies); null: per account.
  std::shared_ptr<HostLeases> host;
  // bpf mode: the virtual ports the job's BPF programs rewrite, handed over by portsafe-run (the
  // table COMMAND's PORTSAFE_VIRTUAL_KERNEL carries); binds to them go to the kernel unclaimed.
  VirtualPorts kernel_virtual;
  // Tests only: runs after a bind was served and before its answer is sent (a test interrupts
  // the waiting call there, as a signal may).
  std::function<void(const seccomp_notif&)> before_answer;
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
  // Looks for gone sockets (the tracker's sweep) and forgets the lost answers of processes that
  // are gone. Returns how many claims were released.
  size_t sweep();
  ClaimTracker& tracker() noexcept { return tracker_; }
  size_t unanswered_binds() const noexcept { return bound_unanswered_.size(); }
  HandlerCounters counters() const noexcept { return counters_; }
  int listener() const noexcept { return listener_.get(); }

 private:
  struct Answer {
    int error = 0;
    bool proceed = false;   // SECCOMP_USER_NOTIF_FLAG_CONTINUE
    bool answered = false;  // decide() sent it already (it must know whether the send worked)
  };
  Answer decide(const seccomp_notif& request);
  // A socket we bound whose answer found no waiting call (a signal interrupted it): the program's
  // retry of that same bind must get 0, not EINVAL for binding twice.
  struct UnansweredBind {
    uint64_t inode = 0;
    TargetAddress asked;  // the address as the call passed it: only the same retry is told 0
    pid_t process = -1;   // the entry goes when this process does: nothing can retry then
  };
  bool send_answer(uint64_t id, const Answer& answer, const UnansweredBind* bound);
  bool is_retry_of_unanswered(uint64_t inode, const TargetAddress& asked);
  void forget_unanswered_of_gone_processes();

  UniqueFd listener_;
  PortTable& table_;
  HandlerSettings settings_;
  Claimant claimant_;
  ClaimTracker tracker_;
  std::atomic<uint32_t> fallbacks_in_a_row_{0};  // this job's seccomp picks that fell back since the last pick
  uint64_t netns_cookie_ = 0;  // our network namespace (0: the kernel cannot tell, before 5.14)
  std::vector<unsigned char> request_buffer_;
  std::vector<unsigned char> response_buffer_;
  std::vector<UnansweredBind> bound_unanswered_;
  HandlerCounters counters_;
};

}  // namespace portsafe::intercept
