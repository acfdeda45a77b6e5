#include "portsafe/table_access.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "portsafe/environment.hpp"
#include "portsafe/runtime_root.hpp"

namespace portsafe {

TableOpen open_root_table(const std::string& root, const PortRange& range) {
  TableSpec spec;
  spec.name = table_name(root);
  spec.range = range;
  spec.socket_path = supervisor_socket_path(root);
  spec.excluded = read_reserved_ports();
  spec.exclude_ports_in_use = std::getenv(env::kRange) == nullptr;
  return PortTable::open_or_create(spec);
}

TableOpen open_root_table(const std::string& root) {
  const RangeParse range = resolve_port_range();
  if (!range.ok) {
    TableOpen result;
    result.error = TableError::system;
    result.message = range.error;
    return result;
  }
  return open_root_table(root, range.range);
}

TableOpen inspect_root_table(const std::string& root) {
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0) {
    TableOpen result;
    result.error = TableError::system;
    result.message = fmt::format("cannot inspect runtime directory {}: {}", root, std::strerror(errno));
    return result;
  }
  return PortTable::open_owned_by(table_name(root), st.st_uid);
}

TableOpen inspect_table(const std::string& name) {
  TableOpen first = PortTable::open_existing(name);
  if (!first.table) return first;
  const std::string socket_path = first.table->socket_path();
  const std::string root = socket_path.substr(0, socket_path.rfind('/'));
  struct stat st {};
  if (root.empty() || ::lstat(root.c_str(), &st) != 0) {
    TableOpen result;
    result.error = TableError::not_private;
    result.message = fmt::format("port table {} names runtime directory '{}', which cannot be inspected; portsafe "
                                 "never trusts it: remove it with rm {}",
                                 PortTable::shm_path(name), root, PortTable::shm_path(name));
    return result;
  }
  // Opened again under the owner rule: the check is made on the segment itself (fstat), and the
  // header must still name the same root.
  TableOpen checked = PortTable::open_owned_by(name, st.st_uid);
  if (checked.table && checked.table->socket_path() != socket_path) {
    checked.table.reset();
    checked.error = TableError::system;
    checked.message = fmt::format("port table {} changed while it was inspected; try again", PortTable::shm_path(name));
  }
  return checked;
}

}  // namespace portsafe
