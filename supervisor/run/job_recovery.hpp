// When the supervisor dies under a running job (SIGKILL, OOM killer), the placeholders of the
// job's held ports die with it. portsafe-run sees its connection close, starts a fresh supervisor
// (the usual autostart) and asks it to hold the *same* port numbers for the same job again:
// COMMAND already knows them and may be serving on them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "portsafe/supervisor_client.hpp"
#include "run/job_session.hpp"

namespace portsafe::run {

struct Rehold {
  std::unique_ptr<SupervisorClient> client;  // the job's new connection; null when none was made
  std::vector<std::string> lost;             // one line per port that could not be held again
  std::string error;                         // why there is no connection (one line)
};

// Reconnects (starting a supervisor when needed), opens the job again and reserves each port by
// its number, one at a time, so a port taken meanwhile costs only itself.
Rehold rehold_ports(const std::string& root, const std::string& job_name, const JobOrigin& origin,
                    const std::vector<HeldPort>& ports);

// "a=20001, b=20002/udp"
std::string describe_ports(const std::vector<HeldPort>& ports);

}  // namespace portsafe::run
