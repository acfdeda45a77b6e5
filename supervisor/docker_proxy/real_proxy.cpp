#include "real_proxy.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "portsafe/environment.hpp"
#include "status_pipe.hpp"

namespace portsafe::docker_proxy {

std::string real_proxy_path() {
  const char* path = std::getenv(env::kDockerProxy);
  return path == nullptr ? std::string() : std::string(path);
}

std::vector<std::string> real_proxy_arguments(const std::string& program, const ProxyOptions& options) {
  std::vector<std::string> args{program, "-proto", proxy_protocol_name(options.proto)};
  if (!options.host_ip.empty()) {
    args.insert(args.end(), {"-host-ip", options.host_ip});
  }
  if (options.host_port >= 0) args.insert(args.end(), {"-host-port", std::to_string(options.host_port)});
  args.insert(args.end(), {"-container-ip", options.container_ip, "-container-port",
                           std::to_string(options.container_port), "-use-listen-fd"});
  return args;
}

std::string exec_real_proxy(const std::string& program, const ProxyOptions& options, int socket_fd) {
  if (socket_fd != kListenFd) {
    if (::dup2(socket_fd, kListenFd) < 0) return fmt::format("cannot pass the socket as fd 4: {}", std::strerror(errno));
  }
  ::fcntl(kListenFd, F_SETFD, 0);  // dup2 clears close-on-exec; fd 4 may be the inherited one
  // Hand it over blocking, as a freshly bound socket is: the real proxy sets its own mode.
  if (const int flags = ::fcntl(kListenFd, F_GETFL); flags >= 0) ::fcntl(kListenFd, F_SETFL, flags & ~O_NONBLOCK);
  if (status_pipe_open()) ::fcntl(kStatusFd, F_SETFD, 0);
  // The real proxy installs its own handlers: give it the signal state dockerd gave us.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  // Never launch ourselves again (PORTSAFE_DOCKER_PROXY pointing at portsafe-docker-proxy).
  ::unsetenv(env::kDockerProxy);
  const auto args = real_proxy_arguments(program, options);
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  const int error = errno;
  return fmt::format("cannot run {} (PORTSAFE_DOCKER_PROXY): {}; point it at a docker-proxy that supports -use-listen-fd",
                     program, std::strerror(error));
}

}  // namespace portsafe::docker_proxy
