// portsafe-docker-proxy: a drop-in replacement for Docker's userland proxy (daemon.json
// "userland-proxy-path") that serves the port a portsafe job holds, so the port is never free
// between reservation and use. See docs/docker.md.
//
// Exit status: 0 stopped by SIGINT/SIGTERM (or -v/-h), 1 failed (reported on fd 3 too),
// 2 usage error.
#include <signal.h>
#include <sys/signalfd.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "listen_socket.hpp"
#include "log_destination.hpp"
#include "portsafe/environment.hpp"
#include "portsafe/log.hpp"
#include "proxy_options.hpp"
#include "real_proxy.hpp"
#include "status_pipe.hpp"
#include "tcp_relay.hpp"
#include "udp_relay.hpp"

#ifndef PORTSAFE_VERSION
#define PORTSAFE_VERSION "unknown"
#endif

namespace {

using namespace portsafe;
using namespace portsafe::docker_proxy;

constexpr int kExitStopped = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// SIGINT/SIGTERM are read from a signalfd in the event loop: blocked from the start, so one
// that arrives before the loop runs is not lost and still ends the proxy with status 0.
int block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an EPIPE, not a death
  return ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int fail(const std::string& message) {
  report_failure(message);
  return kExitFailed;
}

std::string describe_mapping(const ProxyOptions& o) {
  return fmt::format("{} {} -> {}", proxy_protocol_name(o.proto), format_endpoint(o.host), format_endpoint(o.container));
}

int serve(const ProxyOptions& options, int stop_fd) {
  raise_descriptor_limit();
  ListenSocketOutcome obtained = obtain_listen_socket(options);
  if (!obtained.ok()) return fail(obtained.error);
  ListenSocket& socket = obtained.socket;

  if (const std::string real = real_proxy_path(); !real.empty()) {
    if (socket.lease) socket.lease->annotate(format_endpoint(options.container));
    return fail(exec_real_proxy(real, options, socket.fd.get()));
  }

  std::unique_ptr<Relay> relay;
  if (options.proto == ProxyProtocol::tcp) {
    relay = std::make_unique<TcpRelay>(std::move(socket.fd), options.container);
  } else {
    relay = std::make_unique<UdpRelay>(std::move(socket.fd), options.container, udp_idle_timeout());
  }
  if (socket.lease) socket.lease->annotate(format_endpoint(options.container));
  log_info("serving {} with the socket from {}", describe_mapping(options), socket_source_name(socket.source));
  report_ready();
  if (const char* error = relay->run(stop_fd)) {
    log_error("stopped: {}", error);
    return kExitFailed;
  }
  log_info("stopped by signal");
  return kExitStopped;
}

}  // namespace

int main(int argc, char** argv) {
  adopt_inherited_descriptors();  // before anything opens a descriptor that could land on 3 or 4
  set_log_identity("portsafe-docker-proxy");
  // dockerd 20.10 gives us /dev/null as stderr: with PORTSAFE_RUNTIME_DIR known, log there from
  // the start (else once the job's supervisor answers: listen_socket.cpp).
  if (const char* root = std::getenv(env::kRuntimeDir); root != nullptr) log_into_runtime_root(root);
  set_log_level(parse_log_level(std::getenv(env::kLog)));
  const int stop_fd = block_stop_signals();
  if (stop_fd < 0) return fail("cannot watch SIGINT/SIGTERM (signalfd failed)");

  const std::vector<std::string> args(argv + 1, argv + argc);
  const ParseOutcome parsed = parse_proxy_options(args);
  switch (parsed.action) {
    case ParseOutcome::Action::print_version:
      std::printf("portsafe-docker-proxy version %s (docker-proxy compatible)\n", PORTSAFE_VERSION);
      return kExitStopped;
    case ParseOutcome::Action::print_help:
      std::fputs(proxy_usage(argv[0]).c_str(), stdout);
      return kExitStopped;
    case ParseOutcome::Action::usage_error:
      std::fputs(proxy_usage(argv[0]).c_str(), stderr);
      report_failure(parsed.error);
      return kExitUsage;
    case ParseOutcome::Action::run:
      break;
  }
  if (parsed.options.proto == ProxyProtocol::sctp) {
    return fail("sctp is not supported by portsafe-docker-proxy; publish the port as tcp or udp, or set "
                "daemon.json \"userland-proxy-path\" back to docker-proxy for sctp");
  }
  return serve(parsed.options, stop_fd);
}
