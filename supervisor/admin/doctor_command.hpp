// `portsafe doctor [-- COMMAND...]`: checks what portsafe relies on and says how to fix what is
// wrong; with a command, whether the shim can reach that program and what still protects it.
#pragma once

#include <string>
#include <vector>

#include "admin_context.hpp"

namespace portsafe::admin {

int run_doctor(const AdminContext& context, const std::vector<std::string>& command);

}  // namespace portsafe::admin
