// The job as the supervisor knows it: one connection, opened with open_job and kept open for
// portsafe-run's whole life. The connection *is* the job: when portsafe-run ends, even by
// SIGKILL, the supervisor sees it close and releases the job's held ports.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "portsafe/process_identity.hpp"
#include "portsafe/supervisor_client.hpp"
#include "run/run_options.hpp"

namespace portsafe::run {

// Where the job comes from: a new one led by this process, or the outer portsafe-run's.
struct JobOrigin {
  ProcessIdentity leader;  // whose identity is PORTSAFE_JOB_ID
  bool nested = false;     // joins an outer job
  std::string outer_name;  // the outer job's PORTSAFE_JOB, when nested
  std::string note;        // why an inherited PORTSAFE_JOB_ID was not joined (empty when fine)
};

// Reads PORTSAFE_JOB_ID/PORTSAFE_JOB: joins the outer job when its leader is alive.
JobOrigin find_job_origin();

// "PID.STARTTICKS"
std::string format_identity(const ProcessIdentity& who);

struct HeldPort {
  PortSpec spec;
  uint16_t port = 0;
};

struct JobSession {
  std::unique_ptr<SupervisorClient> client;
  wire::JobOpened opened;
  std::vector<HeldPort> ports;    // in command-line order
  std::vector<UniqueFd> sockets;  // --listen sockets, in --listen order
};

// A connection on which the job is open.
struct JobConnection {
  std::unique_ptr<SupervisorClient> client;  // null on failure
  wire::JobOpened opened;
  std::string error;      // one line naming the fix
  bool stopping = false;  // the last refusal came from a supervisor that was exiting
};

// Connects to the supervisor of root (starting it when needed) and opens the job (or joins the
// outer one). A supervisor that is exiting (idle) refuses; this then retries against a fresh one.
// Bounds every send and receive on fd (seconds; 0: no bound), so a supervisor that accepts but
// never answers cannot hang the launcher.
void set_io_timeout(int fd, int seconds);

JobConnection connect_job(const std::string& root, const std::string& job_name, const JobOrigin& origin);

struct SessionResult {
  std::optional<JobSession> session;
  std::string error;  // one line naming the fix
};

// Connects to the supervisor of root (starting it when needed), opens the job, reserves every
// --port/--listen and acquires the --listen sockets (listening for TCP).
SessionResult open_session(const std::string& root, const std::string& job_name, const JobOrigin& origin,
                           const std::vector<PortSpec>& ports);

}  // namespace portsafe::run
