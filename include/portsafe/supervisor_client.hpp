// The client side of the wire protocol, shared by portsafe-run, the portsafe admin command and
// portsafe-docker-proxy. Blocking, one request at a time per connection.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "portsafe/unique_fd.hpp"
#include "portsafe/wire_protocol.hpp"

namespace portsafe {

// A value, or the error that explains why there is none.
template <typename T>
struct Outcome {
  std::optional<T> value;
  wire::ErrorReply error;
  bool ok() const { return value.has_value(); }
  static Outcome failure(wire::ErrorCode code, std::string message) {
    Outcome o;
    o.error = wire::ErrorReply{code, std::move(message)};
    return o;
  }
};

struct AcquiredSocket {
  wire::Acquired info;
  UniqueFd fd;
};

class SupervisorClient {
 public:
  // Connects to the supervisor of `root`. When none answers and supervisor_program is not empty,
  // starts it (detached, its log in the root) and waits up to `timeout` for it; two clients
  // starting one at once end with one supervisor (it takes a lock before it listens).
  static Outcome<std::unique_ptr<SupervisorClient>> connect(const std::string& root,
                                                            const std::string& supervisor_program,
                                                            std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Connects to a socket path as is: no autostart.
  static Outcome<std::unique_ptr<SupervisorClient>> connect_socket(const std::string& socket_path);

  explicit SupervisorClient(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }

  struct Reply {
    wire::MessageType type = wire::MessageType::error;
    std::vector<uint8_t> payload;
    std::vector<UniqueFd> fds;
  };
  // Sends one request frame and reads its reply; transport failures come back as errors.
  Outcome<Reply> call(wire::MessageType type, const std::vector<uint8_t>& payload);

  Outcome<wire::JobOpened> open_job(const std::string& job_name, uint64_t job_id);
  Outcome<wire::Reserved> reserve(const std::vector<wire::PortRequest>& ports);
  // The same given ports held again for the job after its supervisor went away (Reserve::rehold).
  Outcome<wire::Reserved> reserve_again(const std::vector<wire::PortRequest>& ports);
  Outcome<AcquiredSocket> acquire(const wire::Acquire& request);
  Outcome<bool> release(Protocol proto, uint16_t port);
  Outcome<bool> annotate(const wire::Annotate& request);
  Outcome<wire::StatusReply> status();
  Outcome<wire::GcReply> gc();
  Outcome<wire::Pong> ping();

 private:
  UniqueFd fd_;
};

// Runs `program --runtime-dir root` in its own session (stdio to /dev/null and the log), with
// any libportsafe.so removed from LD_PRELOAD, and waits for it: portsafed returns once it
// listens (0, also when another supervisor serves) or fails (1, its reason in the log).
// Returns that exit status, or -1 when it could not be run.
int spawn_supervisor(const std::string& program, const std::string& root);

// The last non-empty line of the supervisor's log in root ("" when none).
std::string last_log_line(const std::string& root);

}  // namespace portsafe
