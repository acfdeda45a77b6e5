#include "portsafe/table_access.hpp"

#include <cstdlib>
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

}  // namespace portsafe
