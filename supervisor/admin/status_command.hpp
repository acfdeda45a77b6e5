// `portsafe status [--json]`: every claimed port of the root's table, read from the table itself
// (works with no supervisor running), with who holds it and since when.
#pragma once

#include "admin_context.hpp"

namespace portsafe::admin {

int run_status(const AdminContext& context, bool json);

}  // namespace portsafe::admin
