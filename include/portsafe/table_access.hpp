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

}  // namespace portsafe
