#include "run/job_recovery.hpp"

#include <fmt/format.h>

#include <sys/socket.h>

#include <cerrno>

namespace portsafe::run {
namespace {

// A supervisor killed again while we reconnect is met with a fresh one, a few times at most.
constexpr int kReconnectAttempts = 3;
// Each request of the re-reservation gets this long (the connection then idles without one). A
// fresh supervisor may first wait for the old one's holds to turn into the job's lingers: a slow
// answer is not a lost connection, so this is generous, and an expired wait keeps the connection.
constexpr int kRequestTimeoutSeconds = 30;

std::string describe_port(const HeldPort& held) {
  return fmt::format("{}={}{}", held.spec.name, held.port, held.spec.proto == Protocol::udp ? "/udp" : "");
}

// True while the peer has not closed: a request that timed out on such a connection may still be
// answered (the supervisor holds the port for it), so the connection is kept, not thrown away.
bool still_connected(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
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
      auto reserved = connected.client->reserve_again({wire::PortRequest{held.spec.name, held.spec.proto, held.port}});
      if (reserved.ok()) continue;
      if (reserved.error.code == wire::ErrorCode::stopping) {
        connection_lost = true;  // it began exiting meanwhile: a fresh one takes over
        result.error = reserved.error.message;
        break;
      }
      if (reserved.error.code == wire::ErrorCode::internal) {
        if (still_connected(connected.client->fd())) {
          // Only slow: the reply may still come (its bytes are drained by the connection watch).
          lost.push_back(fmt::format("{} (no answer yet: {})", describe_port(held), reserved.error.message));
          break;
        }
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
