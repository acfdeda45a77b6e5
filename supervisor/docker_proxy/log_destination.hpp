// Where the proxy's log lines go when nobody reads its stderr. dockerd 20.10 starts the proxy with
// stderr on /dev/null, so warnings and PORTSAFE_LOG=info lines would be lost: they are appended
// instead to portsafe-docker-proxy.log in the runtime root of the job's supervisor (beside
// portsafed.log), owned by that root's owner so the job's user can read it. See docs/docker.md.
#pragma once

#include <string>

namespace portsafe::docker_proxy {

// True when fd 2 is closed or is /dev/null.
bool stderr_is_discarded();

// Points fd 2 at ROOT/portsafe-docker-proxy.log (append, 0600, the root's owner), when fd 2 is
// discarded and the root is a directory; otherwise leaves it. Returns whether it did.
bool log_into_runtime_root(const std::string& root);

// The runtime root of a supervisor socket path ("/run/user/1000/portsafe/net-X/portsafed.sock").
std::string root_of_socket_path(const std::string& socket_path);

}  // namespace portsafe::docker_proxy
