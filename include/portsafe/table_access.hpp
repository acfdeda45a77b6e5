// How every part opens the table of a runtime root: the existing one, or a new one made with the
// range it is given (PORTSAFE_RANGE or the default) and the kernel's reserved ports excluded.
#pragma once

#include <string>

#include "portsafe/port_table.hpp"

namespace portsafe {

// Opens (or creates) the table of `root`. A table that exists keeps its own range: `range` only
// matters at creation.
TableOpen open_root_table(const std::string& root, const PortRange& range);

// Resolves the range from the environment and opens the table; errors name the fix.
TableOpen open_root_table(const std::string& root);

// Opens the existing table of `root` to look at or repair it (portsafe status/gc/doctor), never
// creating one. It is trusted only when it belongs to the owner of `root` (the directory's st_uid)
// and is private: root may inspect a user's table on purpose (sudo portsafe status with
// PORTSAFE_RUNTIME_DIR at that user's root), but never one another user planted at its name.
TableOpen inspect_root_table(const std::string& root);

// The same for a table found by name (portsafe-docker-proxy scanning /dev/shm): its root is the
// directory of the socket path in its header, and the segment must belong to that directory's
// owner, so a table planted to point at another user's supervisor is refused.
TableOpen inspect_table(const std::string& name);

}  // namespace portsafe
