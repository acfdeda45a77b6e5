#include "listen_socket.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "log_destination.hpp"
#include "portsafe/log.hpp"
#include "status_pipe.hpp"

namespace portsafe::docker_proxy {
namespace {

int socket_type(ProxyProtocol proto) { return proto == ProxyProtocol::tcp ? SOCK_STREAM : SOCK_DGRAM; }

int get_int_option(int fd, int level, int name) {
  int value = -1;
  socklen_t length = sizeof value;
  if (::getsockopt(fd, level, name, &value, &length) != 0) return -1;
  return value;
}

// The address the supervisor binds: host-ip as given ("" is its IPv4 wildcard), brackets off.
std::string supervisor_bind_address(const ProxyOptions& options) {
  const std::string& ip = options.host_ip;
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') return ip.substr(1, ip.size() - 2);
  return ip;
}

uint16_t local_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  return 0;
}

std::string listen_failure(const ProxyOptions& options, const std::string& why) {
  return fmt::format("failed to listen on {}: {}", format_endpoint(options.host), why);
}

}  // namespace

const char* socket_source_name(SocketSource source) noexcept {
  switch (source) {
    case SocketSource::listen_fd: return "fd 4 (-use-listen-fd)";
    case SocketSource::supervisor: return "the supervisor";
    case SocketSource::own_bind: return "its own bind";
  }
  return "?";
}

std::string prepare_socket(int fd, const ProxyOptions& options) {
  const int type = get_int_option(fd, SOL_SOCKET, SO_TYPE);
  if (type < 0) return fmt::format("descriptor {} is not a socket: {}", fd, std::strerror(errno));
  if (type != socket_type(options.proto)) {
    return fmt::format("the socket on descriptor {} is a {} socket, but -proto is {}", fd,
                       type == SOCK_STREAM ? "stream (tcp)" : type == SOCK_DGRAM ? "datagram (udp)" : "non-tcp/udp",
                       proxy_protocol_name(options.proto));
  }
  const int domain = get_int_option(fd, SOL_SOCKET, SO_DOMAIN);
  if (domain != AF_INET && domain != AF_INET6) return fmt::format("the socket on descriptor {} is not an IP socket", fd);
  if (options.proto == ProxyProtocol::tcp && get_int_option(fd, SOL_SOCKET, SO_ACCEPTCONN) != 1) {
    if (::listen(fd, SOMAXCONN) != 0) return fmt::format("cannot listen on descriptor {}: {}", fd, std::strerror(errno));
  }
  if (options.proto == ProxyProtocol::udp) {
    // The supervisor's UDP socket is reusable (the wildcard one is the placeholder itself, bound
    // so the job's consumer may bind over it). Once served, the kernel must refuse a co-binder:
    // with SO_REUSEADDR on both, another process binding the same address would take every
    // datagram of new clients (the last bound wins). The flag is read at each bind, so clearing
    // it now closes the port to them while this socket (or the placeholder it shares) lives.
    const int off = 0;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &off, sizeof off) != 0) {
      return fmt::format("cannot clear SO_REUSEADDR on descriptor {}: {}", fd, std::strerror(errno));
    }
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return fmt::format("cannot make descriptor {} non-blocking: {}", fd, std::strerror(errno));
  }
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return "";
}

ListenSocketOutcome bind_own_socket(const ProxyOptions& options) {
  ListenSocketOutcome out;
  out.socket.source = SocketSource::own_bind;
  UniqueFd fd(::socket(options.host.family(), socket_type(options.proto) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    out.error = listen_failure(options, std::strerror(errno));
    return out;
  }
  const int on = 1;
  // As docker-proxy (Go sets SO_REUSEADDR on TCP listeners only): a reusable UDP socket would let
  // another process bind the same address and receive the datagrams of new clients.
  if (options.proto == ProxyProtocol::tcp) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  // Go's "tcp6"/"udp6" listeners are IPv6-only; docker-proxy binds IPv4 separately.
  if (options.host.family() == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&options.host.address), options.host.length) != 0 ||
      (options.proto == ProxyProtocol::tcp && ::listen(fd.get(), SOMAXCONN) != 0)) {
    out.error = listen_failure(options, std::strerror(errno));
    return out;
  }
  out.socket.fd = std::move(fd);
  return out;
}

ListenSocketOutcome obtain_listen_socket(const ProxyOptions& options) {
  ListenSocketOutcome out;
  if (options.use_listen_fd) {
    out.socket.source = SocketSource::listen_fd;
    if (std::string error = prepare_socket(kListenFd, options); !error.empty()) {
      out.error = fmt::format("-use-listen-fd: {}; dockerd must pass the bound socket as fd 4", error);
      return out;
    }
    out.socket.fd = UniqueFd(kListenFd);
    return out;
  }
  const Protocol proto = options.proto == ProxyProtocol::udp ? Protocol::udp : Protocol::tcp;
  const auto port = static_cast<uint16_t>(options.host_port);
  HeldLookup held = acquire_held_socket(proto, port, supervisor_bind_address(options), proto == Protocol::tcp);
  // The job's user reads the log of its own runtime root (dockerd discards our stderr).
  if (held.socket) log_into_runtime_root(root_of_socket_path(held.socket->socket_path));
  for (const std::string& note : held.notes) log_warn("{}", note);
  if (held.socket) {
    std::string error = prepare_socket(held.socket->fd.get(), options);
    // Never serve a port other than the one asked for, whatever a table claims.
    if (error.empty() && local_port(held.socket->fd.get()) != port) error = "it is bound to another port";
    if (!error.empty()) {
      log_warn("the socket from {} cannot be served ({}); binding the port itself", held.socket->socket_path, error);
    } else {
      log_info("serving {}/{} with the socket held by the supervisor at {}", port, protocol_name(proto),
               held.socket->socket_path);
      out.socket.fd = std::move(held.socket->fd);
      out.socket.source = SocketSource::supervisor;
      out.socket.lease = std::move(held.socket->lease);
      return out;
    }
  }
  return bind_own_socket(options);
}

}  // namespace portsafe::docker_proxy
