#include "portsafe/kernel_virtual_ports.hpp"

#include <cstdlib>

#include "portsafe/environment.hpp"

namespace portsafe {

bool kernel_virtual_list_contains(const char* text, Protocol proto, uint16_t port) noexcept {
  if (text == nullptr) return false;
  const char* p = text;
  while (*p != '\0') {
    uint32_t value = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 6) {
      value = value * 10 + static_cast<uint32_t>(*p - '0');
      ++p;
      ++digits;
    }
    Protocol entry = Protocol::tcp;
    bool valid = digits > 0 && value <= 65535;
    if (*p == '/') {
      ++p;
      if (p[0] == 't' && p[1] == 'c' && p[2] == 'p') {
        p += 3;
      } else if (p[0] == 'u' && p[1] == 'd' && p[2] == 'p') {
        entry = Protocol::udp;
        p += 3;
      } else {
        valid = false;
      }
    }
    if (*p != ',' && *p != '\0') valid = false;
    if (valid && entry == proto && value == port) return true;
    while (*p != ',' && *p != '\0') ++p;  // the rest of a malformed entry
    if (*p == ',') ++p;
  }
  return false;
}

bool is_kernel_virtual_port(Protocol proto, uint16_t port) noexcept {
  return kernel_virtual_list_contains(std::getenv(env::kVirtualKernel), proto, port);
}

}  // namespace portsafe
