// PORTSAFE_DOCKER_PROXY=/path/to/docker-proxy: instead of serving itself, portsafe-docker-proxy
// execs that program with the socket it obtained as fd 4 and -use-listen-fd (a docker-proxy
// from Docker 28+ accepts it). fd 3, the status pipe, passes through untouched, so the real
// proxy reports to dockerd itself.
#pragma once

#include <string>

#include "proxy_options.hpp"

namespace portsafe::docker_proxy {

// The path in PORTSAFE_DOCKER_PROXY, or "" when unset or empty.
std::string real_proxy_path();

// The argv the real proxy gets: the same mapping, with -use-listen-fd.
std::vector<std::string> real_proxy_arguments(const std::string& program, const ProxyOptions& options);

// Execs it with socket_fd as fd 4; returns only on failure, with a message naming the fix.
std::string exec_real_proxy(const std::string& program, const ProxyOptions& options, int socket_fd);

}  // namespace portsafe::docker_proxy
