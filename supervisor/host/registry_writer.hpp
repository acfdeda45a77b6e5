// The host daemon's side of the registry: the only writer of HOSTDIR/leases. Makes it (fully
// initialised under a scratch name, then renamed into place, 0644 root) or reuses a valid one
// with the same geometry, so leases survive a restart (socket activation, idle exit).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "portsafe/host_registry.hpp"

namespace portsafe::host {

struct RegistrySpec {
  std::string dir;  // HOSTDIR (exists, checked by the caller)
  PortRange range;
  uint32_t block_size = kDefaultBlockSize;
  uint64_t netns_inode = 0;
};

struct WriterOpen;

class HostRegistryWriter {
 public:
  static WriterOpen open_or_create(const RegistrySpec& spec);

  const HostRegistry& view() const noexcept { return *view_; }
  HostRegistry& view() noexcept { return *view_; }

  // free -> leased to uid and table (generation + 1); the name is written before the word.
  uint32_t grant(uint32_t block, uid_t uid, const std::string& table_name, int64_t now_ms) noexcept;
  // leased -> reclaiming (generation + 1): from now on no pick of the owner keeps a claim here.
  void mark_reclaiming(uint32_t block) noexcept;
  // reclaiming -> free (generation + 1).
  void release(uint32_t block) noexcept;
  // reclaiming -> leased again (generation + 1): a claim turned up in the scan.
  void keep(uint32_t block, int64_t now_ms) noexcept;
  void note_claim_seen(uint32_t block, int64_t now_ms) noexcept;
  void count_refusal() noexcept;
  void set_daemon_pid(uint32_t pid) noexcept;

 private:
  explicit HostRegistryWriter(std::unique_ptr<HostRegistry> view) : view_(std::move(view)) {}
  void store_word(uint32_t block, BlockState state, uid_t uid) noexcept;

  std::unique_ptr<HostRegistry> view_;
};

struct WriterOpen {
  std::unique_ptr<HostRegistryWriter> writer;
  bool created = false;
  std::string error;  // one line naming the fix
};

}  // namespace portsafe::host
