// Where the served socket comes from. In order (see docs/docker.md):
//   1. fd 4, when dockerd passes -use-listen-fd (TCP listening, UDP bound);
//   2. the supervisor of the job that holds host-port (SCM_RIGHTS), so the port is never free;
//   3. its own bind with SO_REUSEADDR, as dockerd itself binds (this also binds over a held
//      port's placeholder, when no supervisor answers).
#pragma once

#include <memory>
#include <string>

#include "held_port_lookup.hpp"
#include "portsafe/unique_fd.hpp"
#include "proxy_options.hpp"

namespace portsafe::docker_proxy {

enum class SocketSource { listen_fd, supervisor, own_bind };
const char* socket_source_name(SocketSource source) noexcept;

struct ListenSocket {
  UniqueFd fd;  // non-blocking, close-on-exec; TCP: listening
  SocketSource source = SocketSource::own_bind;
  std::unique_ptr<HeldPortLease> lease;  // supervisor source: clears the annotation when dropped
};

struct ListenSocketOutcome {
  ListenSocket socket;
  std::string error;  // docker-proxy style: "failed to listen on 0.0.0.0:80: ..."
  bool ok() const { return error.empty(); }
};

ListenSocketOutcome obtain_listen_socket(const ProxyOptions& options);

// Checks an inherited or handed-over socket: right type and family, TCP listening (listen() is
// called when it is only bound), non-blocking. Empty string when it can be served.
std::string prepare_socket(int fd, const ProxyOptions& options);

// socket + SO_REUSEADDR + bind (+ listen for TCP), like dockerd and docker-proxy bind.
ListenSocketOutcome bind_own_socket(const ProxyOptions& options);

}  // namespace portsafe::docker_proxy
