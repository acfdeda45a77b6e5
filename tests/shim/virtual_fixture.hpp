// Helpers for the shim's virtual-port tests (virtual_*_test.cpp). The executable links
// libportsafe.so and runs with PORTSAFE_VIRTUAL=kVirtualList (virtual_test_main.cpp), so its
// socket calls are the shim's; what the kernel really did is read with raw system calls, which
// the shim never sees.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace portsafe::virtual_test {

inline constexpr const char* kVirtualList = "8080/tcp=20140,8080/udp=20141,5353/udp=20142";
inline constexpr uint16_t kVirtual = 8080;
inline constexpr uint16_t kRealTcp = 20140;
inline constexpr uint16_t kRealUdp = 20141;

inline sockaddr_storage address(int family, const char* text, uint16_t port) {
  sockaddr_storage storage{};
  if (family == AF_INET) {
    auto& in = reinterpret_cast<sockaddr_in&>(storage);
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    EXPECT_EQ(::inet_pton(AF_INET, text, &in.sin_addr), 1) << text;
  } else {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(storage);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    EXPECT_EQ(::inet_pton(AF_INET6, text, &in6.sin6_addr), 1) << text;
  }
  return storage;
}

inline socklen_t length_of(const sockaddr_storage& addr) {
  return addr.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

inline const sockaddr* as_sockaddr(const sockaddr_storage& addr) { return reinterpret_cast<const sockaddr*>(&addr); }
inline sockaddr* as_sockaddr(sockaddr_storage& addr) { return reinterpret_cast<sockaddr*>(&addr); }

// Both families keep the port at the same offset.
inline uint16_t port_of(const sockaddr_storage& addr) {
  return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
}

// The socket's own port as the kernel knows it (a raw system call: no shim in the way).
inline uint16_t kernel_local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  EXPECT_EQ(::syscall(SYS_getsockname, fd, &addr, &length), 0) << std::strerror(errno);
  return port_of(addr);
}

inline uint16_t kernel_peer_port(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  EXPECT_EQ(::syscall(SYS_getpeername, fd, &addr, &length), 0) << std::strerror(errno);
  return port_of(addr);
}

inline uint16_t reported_local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  EXPECT_EQ(::getsockname(fd, as_sockaddr(addr), &length), 0) << std::strerror(errno);
  return port_of(addr);
}

inline uint16_t reported_peer_port(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  EXPECT_EQ(::getpeername(fd, as_sockaddr(addr), &length), 0) << std::strerror(errno);
  return port_of(addr);
}

// A datagram that went astray fails the test after 5 s instead of hanging it.
inline int with_receive_timeout(int fd) {
  const timeval timeout{5, 0};
  EXPECT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout), 0);
  return fd;
}

// A socket bound to the virtual port on `host` of `family` (listening when TCP).
inline int bound_virtual(int family, int type, const char* host) {
  const int fd = with_receive_timeout(::socket(family, type, 0));
  const sockaddr_storage addr = address(family, host, kVirtual);
  EXPECT_EQ(::bind(fd, as_sockaddr(addr), length_of(addr)), 0) << host << ": " << std::strerror(errno);
  if (type == SOCK_STREAM) {
    EXPECT_EQ(::listen(fd, 8), 0);
  }
  return fd;
}

}  // namespace portsafe::virtual_test
