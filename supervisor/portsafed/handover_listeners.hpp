// The listening sockets a held TCP port keeps once it has been handed over (acquire with listen,
// e.g. by portsafe-docker-proxy), one per bind address. The supervisor keeps a copy listening
// for the rest of the hold, so across a consumer's restarts (`docker restart`: the old proxy
// stops, a new one asks again) the port is never without a listener: connections wait in the
// backlog, and the kernel refuses every other bind of the port, even one with SO_REUSEADDR (a
// listening socket is never shared that way). The next consumer receives the same socket.
#pragma once

#include <map>
#include <string>

#include "placeholder.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::supervisor {

class HandoverListeners {
 public:
  // A copy of the listener bound to address (made, listening, on first use; kept listeners of
  // the same family that no consumer serves any more give way). Returns 0 or an errno
  // value (EADDRINUSE: the port listens elsewhere, e.g. a consumer serves another address).
  //
  // Once a port has a kept listener its placeholders lose SO_REUSEADDR, so the address family or
  // address no consumer serves (`-p 127.0.0.1:N:80` leaves [::]:N unserved) is closed too: no
  // bind with SO_REUSEADDR passes a placeholder without it. The placeholder of the family being
  // bound is made reusable again for the instant of that bind only (the supervisor's own bind).
  int copy_for(const SocketAddress& address, Placeholders& placeholders, UniqueFd& out);

 private:
  // Closes our listeners of one address family; returns how many.
  size_t drop_family(int family);

  std::map<std::string, UniqueFd> listeners_;  // by numeric bind address
};

}  // namespace portsafe::supervisor
