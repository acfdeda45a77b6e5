// The host daemon's event loop: one thread, epoll over the listening socket and every client.
// Built so that one account cannot delay another's answer beyond its 200 ms budget: requests
// are tiny and fixed-size (a bigger frame closes the connection), each connection gets at most
// one request served per turn of the loop, an account has at most kMaxConnectionsPerUid (a
// burst of one account's first picks stays well inside it)
// connections (more are closed at accept), a connection that has not sent a whole request
// within kRequestTimeoutMs is closed, and a reply the socket does not take at once closes it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>

#include "lease_book.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::host {

inline constexpr size_t kMaxConnectionsPerUid = 64;
inline constexpr size_t kMaxConnections = 1024;
// Descriptors kept free of clients: the listener, epoll, signalfd, the registry, the lock, and
// the account tables a sweep or query opens (one at a time) with room to spare. A client past
// the limit minus this is closed at accept, so a table is never unreadable for want of an fd.
inline constexpr size_t kReservedDescriptors = 64;

// Clients served at most with `open_files` descriptors (RLIMIT_NOFILE's soft limit).
size_t connection_limit(uint64_t open_files) noexcept;
// Raises RLIMIT_NOFILE's soft limit to its hard limit (every client costs a descriptor);
// returns the soft limit in force afterwards.
uint64_t raise_open_files_limit() noexcept;
inline constexpr int64_t kRequestTimeoutMs = 1'000;
inline constexpr int64_t kSweepIntervalMs = 1'000;
// Out of descriptors at accept: the listener leaves epoll (it stays readable, so it would spin)
// until a client closes or this long has passed.
inline constexpr int64_t kAcceptBackoffMs = 100;

struct ServerSettings {
  std::chrono::seconds idle_timeout{0};  // 0: never exit for idleness
};

class HostServer {
 public:
  HostServer(UniqueFd listener, LeaseBook& book, ServerSettings settings);
  ~HostServer();
  HostServer(const HostServer&) = delete;
  HostServer& operator=(const HostServer&) = delete;

  // Serves until SIGTERM/SIGINT/SIGHUP (blocked and read through a signalfd) or the idle
  // timeout; returns the exit code.
  int run();

 private:
  struct Client;
  bool set_up();
  void accept_clients(int64_t now);
  void serve(Client& client, int64_t now);
  // Answers one complete request; false when the connection must close.
  bool answer(Client& client, uint16_t type, const uint8_t* payload, uint32_t length, int64_t now);
  void close_client(int fd);
  void close_stale(int64_t now);
  void pause_listener(int64_t now);
  void resume_listener();

  UniqueFd listener_;
  LeaseBook& book_;
  ServerSettings settings_;
  UniqueFd epoll_;
  UniqueFd signals_;
  std::map<int, std::unique_ptr<Client>> clients_;
  std::map<uid_t, size_t> per_uid_;
  size_t max_connections_ = kMaxConnections;
  bool listener_paused_ = false;
  bool warned_out_of_descriptors_ = false;
  int64_t resume_listener_ms_ = 0;
  int64_t last_request_ms_ = 0;
  int64_t next_sweep_ms_ = 0;
};

}  // namespace portsafe::host
