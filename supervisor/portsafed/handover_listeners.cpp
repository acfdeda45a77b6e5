#include "handover_listeners.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

namespace portsafe::supervisor {
namespace {

// The text of address without its port ("0.0.0.0", "::1"): the key of a kept listener.
std::string address_text(const SocketAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw = address.family == AF_INET
                        ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_addr)
                        : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_addr);
  ::inet_ntop(address.family, raw, text, sizeof text);
  return text;
}

void set_reusable(const UniqueFd& placeholder, bool reusable) {
  if (!placeholder) return;
  const int value = reusable ? 1 : 0;
  ::setsockopt(placeholder.get(), SOL_SOCKET, SO_REUSEADDR, &value, sizeof value);
}

}  // namespace

int HandoverListeners::copy_for(const SocketAddress& address, Placeholders& placeholders, UniqueFd& out) {
  const std::string key = address_text(address);
  auto it = listeners_.find(key);
  if (it == listeners_.end()) {
    const UniqueFd& same_family = address.family == AF_INET6 ? placeholders.v6 : placeholders.v4;
    set_reusable(same_family, true);  // our own listener binds beside it
    UniqueFd made;
    int error = bind_consumer(Protocol::tcp, address, true, made);
    if (error == EADDRINUSE && drop_family(address.family) > 0) {
      // The consumer moved to another address (0.0.0.0 before, 127.0.0.1 now): a kept listener
      // of the same family blocks the new one. Ours go; if a consumer still serves one of them,
      // its copy keeps listening and the bind fails again, as it should.
      error = bind_consumer(Protocol::tcp, address, true, made);
    }
    if (error != 0) {
      set_reusable(same_family, listeners_.empty());  // as it was: reusable until a handover
      return error;
    }
    it = listeners_.emplace(key, std::move(made)).first;
  }
  set_reusable(placeholders.v4, false);
  set_reusable(placeholders.v6, false);
  UniqueFd copy(::fcntl(it->second.get(), F_DUPFD_CLOEXEC, 0));
  if (!copy) return errno;
  out = std::move(copy);
  return 0;
}

size_t HandoverListeners::drop_family(int family) {
  size_t dropped = 0;
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    // The keys are numeric addresses: only IPv6 ones contain ':' (IPv6 listeners are V6ONLY).
    const bool v6 = it->first.find(':') != std::string::npos;
    if (v6 == (family == AF_INET6)) {
      it = listeners_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

}  // namespace portsafe::supervisor
