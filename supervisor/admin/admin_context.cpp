#include "admin_context.hpp"

#include "portsafe/runtime_root.hpp"

namespace portsafe::admin {

AdminContext resolve_context(const std::string& runtime_dir) {
  AdminContext context;
  const RuntimeRoot root = runtime_dir.empty() ? resolve_runtime_root() : prepare_private_directory(runtime_dir);
  if (!root.ok) {
    context.root_error = root.error;
    return context;
  }
  context.root = root.path;
  context.table_name = table_name(root.path);
  return context;
}

std::unique_ptr<SupervisorClient> connect_running_supervisor(const AdminContext& context) {
  if (context.root.empty()) return nullptr;
  auto client = SupervisorClient::connect_socket(supervisor_socket_path(context.root));
  return client.ok() ? std::move(*client.value) : nullptr;
}

}  // namespace portsafe::admin
