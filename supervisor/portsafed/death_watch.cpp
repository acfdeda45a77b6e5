#include "death_watch.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "portsafe/log.hpp"

namespace portsafe::supervisor {
namespace {

int open_pidfd(pid_t pid) noexcept { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

}  // namespace

DeathWatch::DeathWatch(PortTable& table) : table_(table), self_(read_own_identity()) {}

std::vector<DeathWatch::Added> DeathWatch::refresh(int64_t now_ms) {
  std::vector<Added> added;
  const uint64_t claims = table_.claims_made();
  if (claims == seen_claims_) return added;
  seen_claims_ = claims;
  std::vector<uint64_t> owners;
  uint32_t in_use[kProtocolCount];
  table_.collect_owners(owners, in_use);
  table_.note_in_use(std::max(in_use[0], in_use[1]));
  std::sort(owners.begin(), owners.end());
  owners.erase(std::unique(owners.begin(), owners.end()), owners.end());

  // Owners no entry depends on any more: stop watching (a long-lived process that claimed once
  // must not cost a descriptor for ever).
  for (auto it = by_owner_.begin(); it != by_owner_.end();) {
    if (std::binary_search(owners.begin(), owners.end(), it->first)) {
      ++it;
    } else {
      by_tag_.erase(it->second);  // closing the pidfd takes it out of the epoll set
      it = by_owner_.erase(it);
    }
  }
  std::vector<uint64_t> dead;
  for (const uint64_t packed : owners) {
    if (by_owner_.count(packed) != 0 || !supported_) continue;
    const ProcessIdentity owner = unpack_identity(packed);
    if (owner.pid == self_.pid) continue;  // our own holds end with us
    UniqueFd fd(open_pidfd(static_cast<pid_t>(owner.pid)));
    if (!fd) {
      if (errno == ESRCH) {
        dead.push_back(packed);
      } else if (errno == ENOSYS) {
        supported_ = false;  // kernel before 5.3: the one-second sweep does all the reaping
        log_info("pidfd_open is not available: dead owners are reaped by the one-second sweep");
      }
      continue;
    }
    // The pid may have been reused between the claim and our pidfd: the identity says whose it is.
    if (!is_process_alive(owner)) {
      dead.push_back(packed);
      continue;
    }
    const uint64_t tag = kTagBit | next_tag_++;
    added.push_back(Added{fd.get(), tag});
    by_owner_.emplace(packed, tag);
    by_tag_.emplace(tag, Watch{std::move(fd), packed});
  }
  if (!dead.empty()) {
    std::sort(dead.begin(), dead.end());
    if (const size_t reaped = table_.reap_owned_by(dead, now_ms); reaped > 0) {
      log_debug("reaped {} slot(s) of {} owner(s) that died before they were watched", reaped, dead.size());
    }
  }
  return added;
}

size_t DeathWatch::on_exit(uint64_t tag, int64_t now_ms) {
  const auto it = by_tag_.find(tag);
  if (it == by_tag_.end()) return 0;
  const uint64_t owner = it->second.owner;
  by_owner_.erase(owner);
  by_tag_.erase(it);
  const size_t reaped = table_.reap_owned_by(std::vector<uint64_t>{owner}, now_ms);
  if (reaped > 0) log_debug("reaped {} slot(s) of pid {} at its exit", reaped, unpack_identity(owner).pid);
  return reaped;
}

}  // namespace portsafe::supervisor
