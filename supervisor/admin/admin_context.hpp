// What every `portsafe` subcommand starts from: the runtime root and its table, opened without
// creating anything (an admin command must not make a table just to look at it).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "portsafe/port_table.hpp"
#include "portsafe/supervisor_client.hpp"

namespace portsafe::admin {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct AdminContext {
  std::string root;  // empty when it could not be resolved (root_error says why)
  std::string root_error;
  std::string table_name;
};

// --runtime-dir when given, else PORTSAFE_RUNTIME_DIR / the per-user default. An admin command
// only looks, so root may name another user's private root.
AdminContext resolve_context(const std::string& runtime_dir);

// The root's existing table, trusted only when it is private and belongs to the root's owner
// (root may inspect a user's root; nobody trusts a table another user planted at its name).
TableOpen open_context_table(const AdminContext& context);

// The account the root belongs to (its directory's owner): root may inspect a user's root, and
// then sees that user's side of host-wide coordination. The caller's uid when it cannot be read.
uid_t root_owner(const AdminContext& context);

// The running supervisor of the root, or nullptr (never starts one).
std::unique_ptr<SupervisorClient> connect_running_supervisor(const AdminContext& context);

}  // namespace portsafe::admin
