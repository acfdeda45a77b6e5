#include "admin_context.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>

#include "portsafe/environment.hpp"
#include "portsafe/runtime_root.hpp"
#include "portsafe/table_access.hpp"

namespace portsafe::admin {

AdminContext resolve_context(const std::string& runtime_dir) {
  AdminContext context;
  RuntimeRoot root;
  if (!runtime_dir.empty()) {
    root = prepare_inspected_directory(runtime_dir);
  } else if (const char* dir = std::getenv(env::kRuntimeDir); dir != nullptr && *dir != '\0') {
    root = prepare_inspected_directory(dir);
    if (!root.ok) root.error = fmt::format("{}: {}", env::kRuntimeDir, root.error);
  } else {
    root = resolve_runtime_root();
  }
  if (!root.ok) {
    context.root_error = root.error;
    return context;
  }
  context.root = root.path;
  context.table_name = table_name(root.path);
  return context;
}

TableOpen open_context_table(const AdminContext& context) { return inspect_root_table(context.root); }

uid_t root_owner(const AdminContext& context) {
  struct stat st {};
  return !context.root.empty() && ::stat(context.root.c_str(), &st) == 0 ? st.st_uid : ::geteuid();
}

std::unique_ptr<SupervisorClient> connect_running_supervisor(const AdminContext& context) {
  if (context.root.empty()) return nullptr;
  auto client = SupervisorClient::connect_socket(supervisor_socket_path(context.root));
  return client.ok() ? std::move(*client.value) : nullptr;
}

}  // namespace portsafe::admin
