#include "proxy_options.hpp"

#include <arpa/inet.h>

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <string_view>

namespace portsafe::docker_proxy {
namespace {

enum class FlagKind { text, number, boolean };

struct FlagSpec {
  std::string_view name;
  FlagKind kind;
};

constexpr FlagSpec kFlags[] = {
    {"proto", FlagKind::text},          {"host-ip", FlagKind::text},
    {"host-port", FlagKind::number},    {"container-ip", FlagKind::text},
    {"container-port", FlagKind::number}, {"use-listen-fd", FlagKind::boolean},
    {"v", FlagKind::boolean},           {"version", FlagKind::boolean},
    {"h", FlagKind::boolean},           {"help", FlagKind::boolean},
};

const FlagSpec* find_flag(std::string_view name) {
  for (const auto& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

// Go's strconv.ParseBool spellings.
std::optional<bool> parse_bool(std::string_view text) {
  for (auto t : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (text == t) return true;
  }
  for (auto f : {"0", "f", "F", "false", "FALSE", "False"}) {
    if (text == f) return false;
  }
  return std::nullopt;
}

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

ParseOutcome usage_error(std::string message) {
  ParseOutcome out;
  out.action = ParseOutcome::Action::usage_error;
  out.error = std::move(message);
  return out;
}

// Applies one flag's value; an error message when the value is not acceptable.
std::optional<std::string> apply_flag(std::string_view name, std::string_view value, ProxyOptions& o,
                                      ParseOutcome::Action& action) {
  if (name == "proto") {
    if (value == "tcp") {
      o.proto = ProxyProtocol::tcp;
    } else if (value == "udp") {
      o.proto = ProxyProtocol::udp;
    } else if (value == "sctp") {
      o.proto = ProxyProtocol::sctp;
    } else {
      return fmt::format("-proto {}: unknown protocol; use tcp, udp or sctp", value);
    }
  } else if (name == "host-ip") {
    o.host_ip = std::string(value);
  } else if (name == "container-ip") {
    o.container_ip = std::string(value);
  } else if (name == "host-port" || name == "container-port") {
    const auto number = parse_int(value);
    if (!number) return fmt::format("-{} {}: not a number; give a port 0-65535", name, value);
    (name == "host-port" ? o.host_port : o.container_port) = *number;
  } else if (name == "use-listen-fd") {
    o.use_listen_fd = *parse_bool(value);
  } else if (name == "v" || name == "version") {
    if (*parse_bool(value)) action = ParseOutcome::Action::print_version;
  } else if (name == "h" || name == "help") {
    if (*parse_bool(value) && action != ParseOutcome::Action::print_version) action = ParseOutcome::Action::print_help;
  }
  return std::nullopt;
}

std::optional<std::string> check_port(const char* flag, int port, bool zero_allowed) {
  if (port < 0) return fmt::format("-{} is required (a port 1-65535)", flag);
  if (port > 65535 || (port == 0 && !zero_allowed)) return fmt::format("-{} {}: give a port 1-65535", flag, port);
  return std::nullopt;
}

// Fills the endpoints once every flag is read; an error when a value cannot be used.
std::optional<std::string> resolve_endpoints(ProxyOptions& o) {
  if (auto e = check_port("container-port", o.container_port, false)) return e;
  // With -use-listen-fd the socket on fd 4 carries the port; without it the proxy binds itself.
  if (!o.use_listen_fd) {
    if (auto e = check_port("host-port", o.host_port, true)) return e;
  } else if (o.host_port > 65535) {
    return fmt::format("-host-port {}: give a port 0-65535", o.host_port);
  }
  if (o.container_ip.empty()) return std::string("-container-ip is required (the container's numeric address)");
  if (!make_endpoint(o.container_ip, static_cast<uint16_t>(o.container_port), o.container)) {
    return fmt::format("-container-ip {}: not a numeric IPv4 or IPv6 address", o.container_ip);
  }
  const uint16_t host_port = static_cast<uint16_t>(o.host_port < 0 ? 0 : o.host_port);
  if (o.host_ip.empty()) {
    // docker-proxy listens on the wildcard when no host address is given.
    make_endpoint(o.container.family() == AF_INET6 ? "::" : "0.0.0.0", host_port, o.host);
  } else if (!make_endpoint(o.host_ip, host_port, o.host)) {
    return fmt::format("-host-ip {}: not a numeric IPv4 or IPv6 address", o.host_ip);
  }
  return std::nullopt;
}

}  // namespace

const char* proxy_protocol_name(ProxyProtocol proto) noexcept {
  switch (proto) {
    case ProxyProtocol::tcp: return "tcp";
    case ProxyProtocol::udp: return "udp";
    case ProxyProtocol::sctp: return "sctp";
  }
  return "?";
}

bool make_endpoint(const std::string& ip, uint16_t port, Endpoint& out) {
  out = Endpoint{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.address);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return true;
  }
  std::string text = ip;
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.address);
  if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    return true;
  }
  out = Endpoint{};
  return false;
}

std::string format_endpoint(const Endpoint& endpoint) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (endpoint.family() == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&endpoint.address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return fmt::format("{}:{}", text, ntohs(v4->sin_port));
  }
  if (endpoint.family() == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&endpoint.address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return fmt::format("[{}]:{}", text, ntohs(v6->sin6_port));
  }
  return "?";
}

ParseOutcome parse_proxy_options(const std::vector<std::string>& args) {
  ParseOutcome out;
  out.action = ParseOutcome::Action::run;
  ProxyOptions& o = out.options;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--") {
      if (i + 1 < args.size()) return usage_error(fmt::format("unexpected argument '{}'; docker-proxy takes flags only", args[i + 1]));
      break;
    }
    if (arg.size() < 2 || arg.front() != '-') {
      return usage_error(fmt::format("unexpected argument '{}'; docker-proxy takes flags only", arg));
    }
    std::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    if (body.empty() || body.front() == '-' || body.front() == '=') {
      return usage_error(fmt::format("bad flag syntax: {}", arg));
    }
    std::string_view name = body;
    std::optional<std::string_view> inline_value;
    if (const auto eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      inline_value = body.substr(eq + 1);
    }
    const FlagSpec* flag = find_flag(name);
    if (flag == nullptr) {
      return usage_error(fmt::format("flag provided but not defined: -{}; run with -h for the flags", name));
    }
    std::string_view value;
    if (flag->kind == FlagKind::boolean) {
      value = inline_value.value_or("true");
      if (!parse_bool(value)) return usage_error(fmt::format("invalid boolean value \"{}\" for -{}", value, name));
    } else if (inline_value) {
      value = *inline_value;
    } else {
      if (i + 1 >= args.size()) return usage_error(fmt::format("flag needs an argument: -{}", name));
      value = args[++i];
    }
    if (auto error = apply_flag(name, value, o, out.action)) return usage_error(std::move(*error));
  }
  if (out.action != ParseOutcome::Action::run) return out;
  // sctp is refused later with a status report, as a runtime failure dockerd can show.
  if (o.proto == ProxyProtocol::sctp) return out;
  if (auto error = resolve_endpoints(o)) return usage_error(std::move(*error));
  return out;
}

std::string proxy_usage(const std::string& program) {
  return fmt::format(
      "Usage of {}:\n"
      "  -container-ip string     container ip\n"
      "  -container-port int      container port (default -1)\n"
      "  -host-ip string          host ip (default: the wildcard address)\n"
      "  -host-port int           host port (default -1)\n"
      "  -proto string            proxy protocol: tcp or udp (default \"tcp\"; sctp is refused)\n"
      "  -use-listen-fd           serve the socket dockerd passes as fd 4\n"
      "  -v, -version             print version information and quit\n"
      "fd 3, when open, receives \"0\\n\" once serving or \"1\\n<message>\" on failure.\n"
      "Exit status: 0 stopped by SIGINT/SIGTERM, 1 failed (also reported on fd 3), 2 usage error.\n",
      program);
}

}  // namespace portsafe::docker_proxy
