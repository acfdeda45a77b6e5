// Reaping within milliseconds of a death: the supervisor keeps a pidfd for every process that
// an entry of the table depends on (a claim's or a hold's owner, a linger's job leader) and
// watches it in its epoll loop. A pidfd becomes readable when its process exits, so a SIGKILLed
// holder's port is free again as soon as the loop runs, not at the next one-second sweep (which
// stays, as the fallback for whatever a pidfd cannot watch).
//
// The shim claims without telling the supervisor, so owners are learnt from the table itself:
// a look at the slot words (no /proc reads) whenever the table's claim counter moved.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "portsafe/port_table.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::supervisor {

class DeathWatch {
 public:
  explicit DeathWatch(PortTable& table);

  // Watches the owners of entries claimed since the last look (cheap when nothing changed).
  // Returns the pidfds to add to the loop with their tags; dead owners found on the way are
  // reaped at once.
  struct Added {
    int fd;
    uint64_t tag;
  };
  std::vector<Added> refresh(int64_t now_ms);
  // A watched process exited (its pidfd became readable): reap what it left. The pidfd is
  // closed, which takes it out of the loop's epoll set.
  size_t on_exit(uint64_t tag, int64_t now_ms);
  // pidfd tags carry this bit, so the loop tells them from its own descriptors and connections.
  static constexpr uint64_t kTagBit = uint64_t{1} << 63;
  static bool is_watch_tag(uint64_t tag) noexcept { return (tag & kTagBit) != 0; }
  size_t watched() const noexcept { return by_owner_.size(); }
  bool pidfd_supported() const noexcept { return supported_; }

 private:
  struct Watch {
    UniqueFd fd;
    uint64_t owner;  // packed identity
  };
  PortTable& table_;
  ProcessIdentity self_;
  std::unordered_map<uint64_t, Watch> by_tag_;     // tag -> watch
  std::unordered_map<uint64_t, uint64_t> by_owner_;  // packed identity -> tag
  uint64_t next_tag_ = 1;
  uint64_t seen_claims_ = UINT64_MAX;
  bool supported_ = true;
};

}  // namespace portsafe::supervisor
