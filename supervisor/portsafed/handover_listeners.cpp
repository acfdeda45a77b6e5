#include "handover_listeners.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

#include <cerrno>

namespace portsafe::supervisor {

std::string address_text(const SocketAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw = address.family == AF_INET
                        ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_addr)
                        : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_addr);
  ::inet_ntop(address.family, raw, text, sizeof text);
  return text;
}

int HandoverListeners::copy_for(const SocketAddress& address, UniqueFd& out) {
  const std::string key = address_text(address);
  auto it = listeners_.find(key);
  if (it == listeners_.end()) {
    UniqueFd made;
    if (const int error = bind_consumer(Protocol::tcp, address, true, made); error != 0) return error;
    it = listeners_.emplace(key, std::move(made)).first;
  }
  UniqueFd copy(::fcntl(it->second.get(), F_DUPFD_CLOEXEC, 0));
  if (!copy) return errno;
  out = std::move(copy);
  return 0;
}

}  // namespace portsafe::supervisor
