// docker-proxy's command line, as dockerd passes it (both generations):
//   -proto tcp|udp|sctp -host-ip IP -host-port N -container-ip IP -container-port N
//   [-use-listen-fd]   (dockerd v28+: fd 4 is the socket it bound)
//   -v / -version      (print the version and exit)
// Go's flag package is the contract: "-flag value", "-flag=value", "--flag" and "--flag=value"
// are all accepted, booleans take no separate value ("-use-listen-fd=false" is allowed), and
// parsing stops at "--" or the first non-flag word. CLI11 does not speak single-dash long flags,
// hence this small strict parser.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace portsafe::docker_proxy {

enum class ProxyProtocol { tcp, udp, sctp };

// A numeric IPv4 or IPv6 address with its port, ready for bind()/connect().
struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
  int family() const noexcept { return address.ss_family; }
};

struct ProxyOptions {
  ProxyProtocol proto = ProxyProtocol::tcp;
  std::string host_ip;       // as given ("" when absent: the wildcard of the container's family)
  int host_port = -1;
  std::string container_ip;
  int container_port = -1;
  bool use_listen_fd = false;
  Endpoint host;             // host_ip:host_port (wildcard when host_ip is empty)
  Endpoint container;        // container_ip:container_port
};

struct ParseOutcome {
  enum class Action { run, print_version, print_help, usage_error } action = Action::usage_error;
  ProxyOptions options;
  std::string error;  // one line naming the fix (usage_error)
};

ParseOutcome parse_proxy_options(const std::vector<std::string>& args);

// The flag summary printed for -h and after a usage error.
std::string proxy_usage(const std::string& program);

// Parses a numeric address and port into an Endpoint; false when the text is not an address.
bool make_endpoint(const std::string& ip, uint16_t port, Endpoint& out);

// "1.2.3.4:80" / "[::1]:80".
std::string format_endpoint(const Endpoint& endpoint);

const char* proxy_protocol_name(ProxyProtocol proto) noexcept;

}  // namespace portsafe::docker_proxy
