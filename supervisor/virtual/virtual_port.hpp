// What the virtual-port tier rewrites: one virtual port (what COMMAND says, e.g. 8080) and the
// real port the supervisor holds for the job in its place.
#pragma once

#include <cstdint>

#include "portsafe/port_table.hpp"

namespace portsafe::virt {

struct PortMapping {
  Protocol proto = Protocol::tcp;
  uint16_t virtual_port = 0;
  uint16_t real_port = 0;
};

}  // namespace portsafe::virt
