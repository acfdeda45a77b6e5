#include "virtual_rewrite.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <string>

#include "portsafe/environment.hpp"
#include "shim_log.hpp"
#include "socket_facts.hpp"
#include "socket_kind.hpp"

namespace portsafe::shim {

std::atomic<bool> g_virtual_active{false};
VirtualState g_virtual;

namespace {

// Written once by read_kernel_virtual_ports() before the shim turns active, then only read.
VirtualPorts g_kernel_virtual;

// TCP or UDP as the shim saw the socket made, else as the kernel says (errno kept).
std::optional<Protocol> socket_protocol(int fd) noexcept {
  if (const auto facts = known_socket_facts(fd)) return facts->proto;
  return inet_socket_protocol(fd);
}

void log_rewrite(const char* call, Protocol proto, const struct sockaddr* from, const struct sockaddr* to,
                 socklen_t length, LogLevel level) noexcept {
  if (!log_enabled(level)) return;
  log_line(level, "{} {} port {} -> real port {} (virtual)", call, protocol_name(proto),
           inet_address_port(from, length).value_or(0), inet_address_port(to, length).value_or(0));
}

}  // namespace

void start_virtual_ports() noexcept {
  const char* text = std::getenv(env::kVirtual);
  if (text == nullptr || *text == '\0') return;
  try {
    const VirtualPortsParse parsed = parse_virtual_ports(text);
    if (parsed.error != nullptr) {
      log_line(LogLevel::warn, "{}",
               describe_virtual_ports_error(env::kVirtual, text, parsed, "no port is virtualized"));
      return;
    }
    g_virtual.ports = parsed.ports;
    g_virtual.interfaces = read_interface_addresses();
    g_virtual_active.store(true, std::memory_order_release);
    log_line(LogLevel::info, "virtual ports {} ({} interface addresses count as local)",
             format_virtual_ports(parsed.ports), g_virtual.interfaces.v4_count + g_virtual.interfaces.v6_count);
  } catch (const std::exception& e) {
    log_line(LogLevel::warn, "ignoring {}: {}", env::kVirtual, e.what());
  }
}

const VirtualPorts* read_kernel_virtual_ports() noexcept {
  const char* text = std::getenv(env::kVirtualKernel);
  if (text == nullptr || *text == '\0') return nullptr;
  try {
    const VirtualPortsParse parsed = parse_virtual_ports(text);
    if (parsed.error != nullptr) {
      log_line(LogLevel::warn, "{}",
               describe_virtual_ports_error(env::kVirtualKernel, text, parsed,
                                            "binds to these ports are claimed like any other"));
      return nullptr;
    }
    g_kernel_virtual = parsed.ports;
    log_line(LogLevel::debug, "binds to {} are left to the kernel (bpf-mode virtual ports)",
             format_virtual_ports(parsed.ports));
    return &g_kernel_virtual;
  } catch (const std::exception& e) {
    log_line(LogLevel::warn, "ignoring {}: {}", env::kVirtualKernel, e.what());
    return nullptr;
  }
}

namespace {

// The steps a bind and a destination share: only an inet address on a virtual port of this
// socket's protocol is rewritten (into scratch), by `rewrite`; anything else passes unchanged.
template <typename Rewrite>
Address rewrite_virtual(const char* call, int fd, const struct sockaddr* addr, socklen_t length,
                        struct sockaddr_storage& scratch, LogLevel level, Rewrite rewrite) noexcept {
  const Address unchanged{addr, length};
  if (!virtual_active()) return unchanged;
  const auto port = inet_address_port(addr, length);
  if (!port || !g_virtual.ports.is_virtual_port(*port)) return unchanged;
  const auto proto = socket_protocol(fd);
  if (!proto) return unchanged;
  const std::optional<socklen_t> rewritten = rewrite(*proto);
  if (!rewritten) return unchanged;
  const auto* real_addr = reinterpret_cast<const struct sockaddr*>(&scratch);
  log_rewrite(call, *proto, addr, real_addr, *rewritten, level);
  return {real_addr, *rewritten};
}

}  // namespace

Address virtual_bind_address(int fd, const struct sockaddr* addr, socklen_t length,
                             struct sockaddr_storage& scratch) noexcept {
  // A bind is said at info level: it is the moment a job's program takes its virtual port.
  return rewrite_virtual("bind", fd, addr, length, scratch, LogLevel::info, [&](Protocol proto) {
    return rewrite_bind_address(g_virtual.ports, proto, addr, length, scratch);
  });
}

Address virtual_destination(int fd, const struct sockaddr* addr, socklen_t length,
                            struct sockaddr_storage& scratch) noexcept {
  return rewrite_virtual("to", fd, addr, length, scratch, LogLevel::debug, [&](Protocol proto) {
    return rewrite_destination(g_virtual.ports, &g_virtual.interfaces, proto, addr, length, scratch);
  });
}

void present_virtual(int fd, struct sockaddr* addr, socklen_t length, Reported which) noexcept {
  const auto port = inet_address_port(addr, length);
  if (!port || !g_virtual.ports.is_real_port(*port)) return;
  const auto proto = socket_protocol(fd);
  if (!proto) return;
  if (which == Reported::own_address) {
    report_local_address(g_virtual.ports, *proto, addr, length);
  } else {
    report_peer_address(g_virtual.ports, &g_virtual.interfaces, *proto, addr, length);
  }
}

bool copy_to_program(void* to, const void* from, size_t size) noexcept {
  if (size == 0) return true;
  // process_vm_writev into our own process is the kernel's copy_to_user: an address the
  // program may not write fails with EFAULT where a memcpy would crash the program.
  const int saved = errno;
  struct iovec local {const_cast<void*>(from), size};
  struct iovec remote {to, size};
  const ssize_t written = ::process_vm_writev(::getpid(), &local, 1, &remote, 1, 0);
  const int error = errno;
  errno = saved;
  if (written == static_cast<ssize_t>(size)) return true;
  if (written < 0 && error != EFAULT) {
    // The call itself is refused (a seccomp filter, a kernel without it): the kernel has just
    // reported the address, so write it as before rather than lose it.
    std::memcpy(to, from, size);
    return true;
  }
  return false;
}

}  // namespace portsafe::shim
