// What an account may know about host-wide coordination (issue 16), for `portsafe status` and
// `portsafe doctor`: whether its table takes part (the host registry is trusted and covers the
// table's range), the blocks its table leases, and other accounts' use of the range as counts
// only (accounts, blocks, ports): never their jobs, commands or tables.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "portsafe/port_range.hpp"

namespace portsafe::admin {

struct HostView {
  bool active = false;
  bool opted_out = false;       // a custom range: not the registry's (PORTSAFE_RANGE opts out)
  std::string reason;           // why not active: one line (the registry's own words)
  std::string dir;              // HOSTDIR
  std::string registry_path;
  PortRange range;              // the registry's
  uint32_t block_size = 0;
  uint32_t block_count = 0;
  uint32_t free_blocks = 0;
  uint32_t own_blocks = 0;      // leased to this table
  uint32_t account_blocks = 0;  // leased to this table's owner, all its tables
  uint32_t other_accounts = 0;
  uint32_t other_blocks = 0;
  bool daemon_answers = false;  // the host daemon answered a query within its timeout
};

// The view for the table `table_name` of the account `owner`, whose range is `range` (the
// table's, or the range a new table would get when there is none yet).
HostView inspect_host(const PortRange& range, const std::string& table_name, uid_t owner);

// How to turn host-wide coordination on (as root): the units, or the daemon by hand.
inline constexpr const char* kHostTurnOn =
    "turn it on as root: systemctl enable --now portsafe-host.socket portsafe-host.service (units in "
    "share/portsafe/systemd), or run `portsafed --host`";

}  // namespace portsafe::admin
