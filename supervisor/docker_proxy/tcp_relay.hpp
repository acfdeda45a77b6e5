// The TCP data path: one thread, one epoll set (edge-triggered for connections), no thread per
// connection. Bytes move socket -> pipe -> socket with splice(2), so they never enter user
// space. A half-close (EOF from one side) becomes shutdown(SHUT_WR) towards the other once the
// pipe has drained, so request/response protocols that close their write side keep working.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "portsafe/unique_fd.hpp"
#include "proxy_options.hpp"
#include "relay.hpp"

namespace portsafe::docker_proxy {

class TcpRelay final : public Relay {
 public:
  TcpRelay(UniqueFd listener, const Endpoint& container);
  ~TcpRelay() override;
  const char* run(int stop_fd) override;

 private:
  struct Direction {
    int from = -1;
    int to = -1;
    UniqueFd pipe_read, pipe_write;
    size_t pending = 0;   // bytes sitting in the pipe
    bool eof = false;     // `from` sent FIN
    bool shut = false;    // FIN passed on to `to`
  };
  struct Connection {
    uint64_t id = 0;
    UniqueFd client, backend;
    bool connecting = true;
    Direction up;    // client -> container
    Direction down;  // container -> client
  };

  void accept_clients();
  void open_connection(UniqueFd client);
  void handle_event(uint64_t key, uint32_t events);
  bool finish_connect(Connection& c);
  // Moves what can be moved now; false when the connection failed.
  bool pump(Direction& d);
  void close_connection(uint64_t id);
  bool watch(int fd, uint64_t key, uint32_t events);
  void set_accepting(bool on);

  UniqueFd listener_;
  UniqueFd epoll_;
  Endpoint container_;
  size_t pipe_capacity_ = 0;
  uint64_t next_id_ = 1;
  bool accepting_ = true;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
};

}  // namespace portsafe::docker_proxy
