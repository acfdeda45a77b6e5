#include "run/job_recovery.hpp"

#include <fmt/format.h>

#include <sys/socket.h>
#include <sys/time.h>

namespace portsafe::run {
namespace {

// A supervisor killed again while we reconnect is met with a fresh one, a few times at most.
constexpr int kReconnectAttempts = 3;
// Each request of the re-reservation gets this long (the connection then idles without one).
constexpr int kRequestTimeoutSeconds = 5;

void set_io_timeout(int fd, int seconds) {
  const timeval timeout{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

std::string describe_port(const HeldPort& held) {
  return fmt::format("{}={}{}", held.spec.name, held.port, held.spec.proto == Protocol::udp ? "/udp" : "");
}

}  // namespace

std::string describe_ports(const std::vector<HeldPort>& ports) {
  std::string text;
  for (const HeldPort& held : ports) text += (text.empty() ? "" : ", ") + describe_port(held);
  return text;
}

Rehold rehold_ports(const std::string& root, const std::string& job_name, const JobOrigin& origin,
                    const std::vector<HeldPort>& ports) {
  Rehold result;
  for (int attempt = 0; attempt < kReconnectAttempts && !result.client; ++attempt) {
    JobConnection connected = connect_job(root, job_name, origin);
    if (!connected.client) {
      result.error = connected.error;
      continue;
    }
    set_io_timeout(connected.client->fd(), kRequestTimeoutSeconds);
    std::vector<std::string> lost;
    bool connection_lost = false;
    for (const HeldPort& held : ports) {
      auto reserved = connected.client->reserve({wire::PortRequest{held.spec.name, held.spec.proto, held.port}});
      if (reserved.ok()) continue;
      if (reserved.error.code == wire::ErrorCode::internal) {
        connection_lost = true;  // transport failure: this supervisor died too
        result.error = reserved.error.message;
        break;
      }
      lost.push_back(fmt::format("{} ({})", describe_port(held), reserved.error.message));
    }
    if (connection_lost) continue;
    set_io_timeout(connected.client->fd(), 0);
    result.client = std::move(connected.client);
    result.lost = std::move(lost);
  }
  return result;
}

}  // namespace portsafe::run
