// Finds the supervisor whose job holds a port and takes a socket for it over SCM_RIGHTS.
// dockerd runs as root and jobs as users, so the proxy looks in the runtime root named by
// PORTSAFE_RUNTIME_DIR when set, else in every portsafe table (/dev/shm/portsafe-*) it can open,
// those of its own network namespace first. The socket the supervisor binds lives in the job's
// network namespace, which is what must serve even when the proxy runs elsewhere (rootless
// Docker runs it in rootlesskit's namespace).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "portsafe/port_table.hpp"
#include "portsafe/supervisor_client.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::docker_proxy {

// The supervisor connection that handed the socket over; it stays open while the proxy serves
// so the label ("-> 172.17.0.2:80", shown by `portsafe status`) can be cleared at exit.
class HeldPortLease {
 public:
  // name: the label the port had (the job's port name), put back when the proxy stops.
  HeldPortLease(std::unique_ptr<SupervisorClient> client, Protocol proto, uint16_t port, std::string name)
      : client_(std::move(client)), proto_(proto), port_(port), name_(std::move(name)) {}
  ~HeldPortLease();
  HeldPortLease(const HeldPortLease&) = delete;
  HeldPortLease& operator=(const HeldPortLease&) = delete;
  // Labels the port "NAME -> TARGET" (just "-> TARGET" when that does not fit the table).
  void annotate(const std::string& target);

 private:
  std::unique_ptr<SupervisorClient> client_;
  Protocol proto_;
  uint16_t port_;
  std::string name_;
  bool annotated_ = false;
};

struct HeldSocket {
  UniqueFd fd;
  std::unique_ptr<HeldPortLease> lease;
  std::string socket_path;  // the supervisor it came from
};

struct HeldLookup {
  std::optional<HeldSocket> socket;  // empty: no job holds the port (or no supervisor answered)
  std::vector<std::string> notes;    // why candidates were skipped (logged at debug/warn)
};

// The job's name for a port from its label: dockerd starts two proxies for `-p N:80` (0.0.0.0
// and ::), and the second finds the first one's "web -> 172.17.0.2:80"; taking that whole as the
// name would label the port "web -> ... -> ..." (or only "-> ...") and restore "web -> ..." after
// the container stops. "-> X" alone is an unnamed port.
std::string port_name_of_label(const std::string& label);

// Tables to look in, best first: PORTSAFE_RUNTIME_DIR's only when set; else every readable
// /dev/shm/portsafe-<16 hex>, those whose root is in this network namespace first.
std::vector<std::string> candidate_table_names();

// Asks each candidate whose table says (proto, port) is held for a socket bound to bind_address
// ("" for the wildcard), listening when `listen`.
HeldLookup acquire_held_socket(Protocol proto, uint16_t port, const std::string& bind_address, bool listen);

}  // namespace portsafe::docker_proxy
