// Helpers for the shim's unit tests. The test executable links libportsafe.so, so its bind(),
// close(), dup()... are the shim's. shim_test_main.cpp gives every run a private runtime root
// and range before the shim's constructor runs; the tests read the same table through the core.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "portsafe/port_table.hpp"
#include "portsafe/process_identity.hpp"
#include "portsafe/table_access.hpp"

namespace portsafe::shim_test {

// The range shim_test_main.cpp gives the shim (PORTSAFE_RANGE): below the kernel's ephemeral
// range, so a port from it never comes from the kernel's own choice.
inline constexpr uint16_t kRangeLow = 20100;
inline constexpr uint16_t kRangeHigh = 20131;
inline bool in_test_range(uint16_t port) { return port >= kRangeLow && port <= kRangeHigh; }

inline std::string runtime_root() {
  const char* root = std::getenv("PORTSAFE_RUNTIME_DIR");
  return root != nullptr ? root : "";
}

// The same table the shim in this process uses.
inline PortTable& table() {
  static std::unique_ptr<PortTable> opened = [] {
    TableOpen result = open_root_table(runtime_root(), PortRange{kRangeLow, kRangeHigh});
    if (!result.table) {
      ADD_FAILURE() << result.message;
      std::abort();
    }
    return std::move(result.table);
  }();
  return *opened;
}

inline SlotView slot(Protocol proto, uint16_t port) { return table().view(proto, port).value(); }

// This process's job id as the shim sees it (it exports PORTSAFE_JOB_ID for its children).
inline uint64_t own_job_id() {
  const auto leader = parse_identity(std::getenv("PORTSAFE_JOB_ID"));
  return leader ? pack_identity(*leader) : 0;
}

inline int make_socket(int type = SOCK_STREAM, int family = AF_INET) {
  const int fd = ::socket(family, type, 0);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  return fd;
}

inline sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

inline int bind_port(int fd, uint16_t port) {
  const sockaddr_in addr = loopback(port);
  return ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
}

// The kernel's bind, bypassing the shim: what a program without portsafe would get.
inline int bare_bind(int fd, uint16_t port) {
  const sockaddr_in addr = loopback(port);
  return static_cast<int>(::syscall(SYS_bind, fd, &addr, sizeof addr));
}

// The socket's SO_REUSEADDR (0 or 1), or -1 when it cannot be read.
inline int reuse_address(int fd) {
  int value = 0;
  socklen_t length = sizeof value;
  return ::getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &value, &length) == 0 ? value : -1;
}

inline uint16_t local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) return 0;
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

// Real use of a TCP port: listens on `listener` (bound to loopback), connects a client to it and
// accepts that connection, then closes both ends of the connection. Listening alone is not use
// (a port probe does that), so this is what a server that served someone looks like. False (errno
// says why) when any step fails; usable in fork children (no gtest assertions).
inline bool serve_one_connection(int listener) {
  if (::listen(listener, 4) != 0) return false;
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  if (client < 0) return false;
  const sockaddr_in addr = loopback(local_port(listener));
  const bool connected = ::connect(client, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  const int accepted = connected ? ::accept(listener, nullptr, nullptr) : -1;
  const int error = errno;
  // The client resets at close, so no TIME_WAIT is left on the port for a later bind to meet.
  const linger reset{1, 0};
  ::setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(client);
  if (accepted >= 0) ::close(accepted);
  errno = error;
  return accepted >= 0;
}

// A socket bound to port 0 through the shim; returns {fd, port}.
inline std::pair<int, uint16_t> bind_zero(int type = SOCK_STREAM) {
  const int fd = make_socket(type);
  EXPECT_EQ(bind_port(fd, 0), 0) << std::strerror(errno);
  return {fd, local_port(fd)};
}

// A live process that stands for another job (or for the supervisor): its identity owns claims.
class OtherProcess {
 public:
  OtherProcess() {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::pause();
      ::_exit(0);
    }
    identity_ = read_process_identity(pid_).value_or(ProcessIdentity{});
  }
  ~OtherProcess() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  OtherProcess(const OtherProcess&) = delete;
  OtherProcess& operator=(const OtherProcess&) = delete;

  const ProcessIdentity& identity() const { return identity_; }
  // A claimant of this process's own job (job_id = 0 means "a job it leads").
  Claimant claimant(uint64_t job_id = 0, const char* name = "other-job") const {
    Claimant who;
    who.process = identity_;
    who.job_id = job_id != 0 ? job_id : pack_identity(identity_);
    who.job_name = name;
    return who;
  }

 private:
  pid_t pid_ = -1;
  ProcessIdentity identity_;
};

struct ProbeResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs tests/shim/shim_probe (next to this test) with extra environment; {name, nullptr} unsets.
ProbeResult run_probe(const std::vector<std::string>& args, const std::map<std::string, const char*>& env = {});

}  // namespace portsafe::shim_test
