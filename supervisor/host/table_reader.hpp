// Reads an account's port table as root WITHOUT mapping it: the owner can truncate its segment
// at any moment, and a mapped page past the new end would kill the daemon with SIGBUS. Every
// read is a pread into our own buffer, checked (header, size, slot word stable across the read),
// and every retry is bounded.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "portsafe/port_table.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::host {

// "portsafe-" and 16 hex digits: the only names a lease may give (no path, no surprise file).
bool is_table_name(const std::string& name) noexcept;

enum class PortUse {
  free,     // no claim, or one whose owner is dead / linger expired
  claimed,  // bound, held or busy with a live owner, or a linger not yet over
};

// gone: the table is no more (ENOENT) or is definitely not that uid's table now; unknown: it
// could not be read (EMFILE, EACCES, a short read...), so its claims are unknown and its blocks
// stay leased: freeing them would hand ports it may still claim to another account.
enum class BlockUse { idle, in_use, gone, unknown };

// Why open() gave no table (see BlockUse for what each means to a block).
enum class OpenFailure { none, gone, unknown };

class ForeignTable {
 public:
  // /dev/shm/NAME: a regular file owned by `uid`, mode 0600 (nothing for group/other), with a
  // valid header. nullopt with a one-line reason otherwise.
  static std::optional<ForeignTable> open(const std::string& name, uid_t uid, std::string& reason,
                                          OpenFailure* failure = nullptr);
  // The same for a path (tests).
  static std::optional<ForeignTable> open_path(const std::string& path, uid_t uid, std::string& reason,
                                               OpenFailure* failure = nullptr);

  PortRange range() const noexcept { return range_; }
  // One port's use. A slot that cannot be read (truncated since) is free: its owner broke its
  // own table. A word that never settles with a live owner is claimed.
  PortUse port_use(Protocol proto, uint16_t port, int64_t now_ms) const noexcept;
  // Whether any slot of `ports` (both protocols) is claimed; unknown when a read fails or comes
  // back short (never gone: only a definite check on open says that).
  BlockUse block_use(PortRange ports, int64_t now_ms) const noexcept;

 private:
  ForeignTable(UniqueFd fd, PortRange range) : fd_(std::move(fd)), range_(range) {}
  UniqueFd fd_;
  PortRange range_;
};

}  // namespace portsafe::host
