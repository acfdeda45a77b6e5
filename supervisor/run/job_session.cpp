#include "run/job_session.hpp"

#include <fmt/format.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "portsafe/environment.hpp"
#include "portsafe/install_layout.hpp"
#include "portsafe/log.hpp"
#include "portsafe/runtime_root.hpp"

namespace portsafe::run {
namespace {

// A supervisor that accepts but never answers (stopped, wedged) must not hang the job runner: each
// setup request gets this long; the connection then idles, without a timeout, for the job's life.
constexpr int kSetupTimeoutSeconds = 5;

std::string describe(const wire::ErrorReply& error) {
  return fmt::format("{} ({})", error.message, wire::error_code_name(error.code));
}

// --handover: asks the supervisor for the port's sockets as its consumer would, so that from now
// on it keeps the TCP port listening (handover_listeners in portsafed) and the UDP placeholders
// (the sockets handed over) refuse co-binders; the copies received here are closed at once.
// IPv6 is best effort: a host without it has no [::] side to close.
std::string close_for_handover(SupervisorClient& client, const HeldPort& held) {
  for (const char* address : {"0.0.0.0", "::"}) {
    wire::Acquire request;
    request.proto = held.spec.proto;
    request.port = held.port;
    request.bind_address = address;
    request.listen = held.spec.proto == Protocol::tcp;
    auto acquired = client.acquire(request);
    if (!acquired.ok()) {
      if (std::string_view(address) == "::") {
        log_debug("--handover {}: no IPv6 side ({})", held.spec.name, describe(acquired.error));
        continue;
      }
      return fmt::format("cannot hold --handover {} (port {}) for its consumer: {}", held.spec.name, held.port,
                         describe(acquired.error));
    }
    if (held.spec.proto == Protocol::udp) {
      const int off = 0;
      ::setsockopt(acquired.value->fd.get(), SOL_SOCKET, SO_REUSEADDR, &off, sizeof off);
    }
  }
  return "";
}

}  // namespace

void set_io_timeout(int fd, int seconds) {
  const timeval timeout{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

std::string format_identity(const ProcessIdentity& who) { return fmt::format("{}.{}", who.pid, who.start_ticks); }

JobOrigin find_job_origin() {
  JobOrigin origin;
  origin.leader = read_own_identity();
  const char* outer = std::getenv(env::kJobId);
  if (outer == nullptr || *outer == '\0') return origin;
  const auto leader = parse_identity(outer);
  if (!leader) {
    origin.note = fmt::format("ignoring {}={}: not PID.STARTTICKS; starting a new job", env::kJobId, outer);
    return origin;
  }
  if (!is_process_alive(*leader)) {
    origin.note = fmt::format("the outer job {} has ended; starting a new job", outer);
    return origin;
  }
  origin.leader = *leader;
  origin.nested = true;
  if (const char* name = std::getenv(env::kJob)) origin.outer_name = name;
  return origin;
}

namespace {

// A supervisor that is exiting (idle) refuses new jobs; each retry reconnects, which finds its
// socket gone and starts a fresh supervisor once the old one lets go of its lock. Under systemd
// the socket stays and the exiting supervisor may still answer a retry: pause between retries
// (20 ms, doubling to 200 ms) for longer in all than its drain (2 s) plus the lock wait (3 s).
constexpr auto kStoppingPatience = std::chrono::seconds(10);
constexpr auto kFirstPause = std::chrono::milliseconds(20);
constexpr auto kLongestPause = std::chrono::milliseconds(200);

class StoppingBackoff {
 public:
  // Pauses before the next retry; false once patience is spent.
  bool pause() {
    if (std::chrono::steady_clock::now() + pause_ >= deadline_) return false;
    std::this_thread::sleep_for(pause_);
    pause_ = std::min(pause_ * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kLongestPause));
    return true;
  }

 private:
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::now() + kStoppingPatience;
  std::chrono::milliseconds pause_ = kFirstPause;
};

bool refused_as_stopping(const wire::ErrorReply& error) { return error.code == wire::ErrorCode::stopping; }

// One attempt at the whole setup; *stopping says the supervisor refused because it is exiting.
SessionResult try_open_session(const std::string& root, const std::string& job_name, const JobOrigin& origin,
                               const std::vector<PortSpec>& ports, bool* stopping) {
  SessionResult result;
  auto connected = connect_job(root, job_name, origin);
  if (!connected.client) {
    *stopping = connected.stopping;
    result.error = connected.error;
    return result;
  }
  JobSession session;
  session.client = std::move(connected.client);
  session.opened = std::move(connected.opened);
  set_io_timeout(session.client->fd(), kSetupTimeoutSeconds);

  if (ports.size() > session.opened.range.size()) {
    result.error = fmt::format("{} ports asked (--port, --listen, --handover and --virtual) but the range {} has only "
                               "{}; ask fewer or widen the range (PORTSAFE_RANGE, then `portsafe gc --reset`)",
                               ports.size(), format_range(session.opened.range), session.opened.range.size());
    return result;
  }
  if (!ports.empty()) {
    std::vector<wire::PortRequest> requests;
    for (const PortSpec& spec : ports) requests.push_back({spec.name, spec.proto, 0});
    auto reserved = session.client->reserve(requests);
    if (!reserved.ok()) {
      *stopping = refused_as_stopping(reserved.error);
      result.error = fmt::format("cannot reserve {} port(s): {}", ports.size(), describe(reserved.error));
      return result;
    }
    if (reserved.value->ports.size() != ports.size()) {
      result.error = fmt::format("the supervisor reserved {} port(s) of {}; upgrade portsafed to match portsafe-run",
                                 reserved.value->ports.size(), ports.size());
      return result;
    }
    for (size_t i = 0; i < ports.size(); ++i) session.ports.push_back({ports[i], reserved.value->ports[i].port});
  }

  for (const HeldPort& held : session.ports) {
    if (!held.spec.listen) continue;
    wire::Acquire request;
    request.proto = held.spec.proto;
    request.port = held.port;
    request.listen = held.spec.proto == Protocol::tcp;
    auto acquired = session.client->acquire(request);
    if (!acquired.ok()) {
      result.error = fmt::format("cannot acquire the socket of --listen {} (port {}): {}", held.spec.name, held.port,
                                 describe(acquired.error));
      return result;
    }
    session.sockets.push_back(std::move(acquired.value->fd));
  }
  for (const HeldPort& held : session.ports) {
    if (!held.spec.handover) continue;
    if (std::string error = close_for_handover(*session.client, held); !error.empty()) {
      result.error = std::move(error);
      return result;
    }
  }
  set_io_timeout(session.client->fd(), 0);
  result.session = std::move(session);
  return result;
}

}  // namespace

JobConnection connect_job(const std::string& root, const std::string& job_name, const JobOrigin& origin) {
  JobConnection result;
  StoppingBackoff backoff;
  do {
    auto connected = SupervisorClient::connect(root, sibling_program(kSupervisorProgram));
    if (!connected.ok()) {
      result.error = fmt::format("{}; check `portsafe doctor` and the log {}", connected.error.message,
                                 supervisor_log_path(root));
      return result;
    }
    std::unique_ptr<SupervisorClient> client = std::move(*connected.value);
    set_io_timeout(client->fd(), kSetupTimeoutSeconds);
    auto opened = client->open_job(job_name, origin.nested ? pack_identity(origin.leader) : 0);
    if (opened.ok()) {
      set_io_timeout(client->fd(), 0);
      result.client = std::move(client);
      result.opened = std::move(*opened.value);
      return result;
    }
    result.stopping = refused_as_stopping(opened.error);
    result.error = fmt::format("the supervisor did not open job '{}': {}; check `portsafe doctor` and the log {}",
                               job_name, describe(opened.error), supervisor_log_path(root));
    if (!result.stopping) return result;
    log_debug("the supervisor is exiting; reconnecting to a fresh one");
  } while (backoff.pause());
  return result;
}

SessionResult open_session(const std::string& root, const std::string& job_name, const JobOrigin& origin,
                           const std::vector<PortSpec>& ports) {
  SessionResult result;
  StoppingBackoff backoff;
  do {
    bool stopping = false;
    result = try_open_session(root, job_name, origin, ports, &stopping);
    if (result.session || !stopping) return result;
  } while (backoff.pause());
  return result;
}

}  // namespace portsafe::run
