// The supervisor's event loop: one thread, epoll over the listening socket, every client, a
// one-second sweep timer, the pidfds of the table's owners (death_watch.hpp) and the stop signals. Nothing here ever blocks on a client.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "connection.hpp"
#include "death_watch.hpp"
#include "portsafe/port_table.hpp"
#include "portsafe/unique_fd.hpp"
#include "request_handler.hpp"

namespace portsafe::supervisor {

struct ServerOptions {
  std::chrono::seconds idle_timeout{30};  // 0: never exit for idleness
  std::string socket_path;                // unlinked on exit when not empty (not under systemd)
};

class Server {
 public:
  Server(UniqueFd listener, PortTable& table, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves until SIGTERM/SIGINT/SIGHUP or the idle timeout; returns the exit code.
  int run();
  // Before serving: hold again what a killed supervisor held for jobs still running.
  size_t adopt_orphaned_holds() { return handler_.keeper().adopt_orphans(); }
  // Host-wide coordination for reserve's picks and given ports (null: per account).
  void use_host(HostLeases* host) { handler_.keeper().set_host(host); }

 private:
  bool set_up();
  void accept_clients();
  bool peer_allowed(const ucred& peer) const;
  void serve(Connection& connection, uint32_t events);
  void answer_frames(Connection& connection);
  void close_connection(uint64_t id);
  void update_interest(Connection& connection);
  void sweep();
  void drop_undelivered(int64_t now);
  void watch_owners();
  void begin_stopping();
  void pause_accepting();
  void resume_accepting();

  UniqueFd listener_;
  PortTable& table_;
  ServerOptions options_;
  RequestHandler handler_;
  DeathWatch deaths_;
  UniqueFd epoll_;
  UniqueFd timer_;
  UniqueFd watch_timer_;
  UniqueFd signals_;
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t next_id_ = 16;  // 0-15 name the loop's own descriptors
  uid_t euid_;
  int64_t last_busy_ms_;
  bool accepting_ = true;
  bool stopping_ = false;
  bool stop_now_ = false;
  int64_t stop_deadline_ms_ = 0;
};

}  // namespace portsafe::supervisor
