// `portsafe gc [--reset]`: reclaims what dead processes left in the table (through the
// supervisor when it runs, else directly); --reset removes the table itself, the documented
// recovery from a corrupt or unwanted table.
#pragma once

#include "admin_context.hpp"

namespace portsafe::admin {

int run_gc(const AdminContext& context, bool reset);

}  // namespace portsafe::admin
