#include "intercept/listener_transfer.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "portsafe/fd_passing.hpp"

namespace portsafe::intercept {
namespace {

struct Message {
  int32_t error;
  int32_t killable;
};

}  // namespace

void send_listener(int channel, const FilterInstall& install) noexcept {
  const Message message{install.error, install.killable ? 1 : 0};
  uint8_t bytes[sizeof message];
  std::memcpy(bytes, &message, sizeof message);
  const int fds[1] = {install.listener};
  (void)send_with_fds(channel, bytes, sizeof bytes, fds, install.listener >= 0 ? 1 : 0);
}

ReceivedListener receive_listener(int channel) {
  ReceivedListener result;
  uint8_t bytes[sizeof(Message)];
  std::vector<UniqueFd> fds;
  if (receive_exact(channel, bytes, sizeof bytes, &fds) != 0) return result;
  Message message{};
  std::memcpy(&message, bytes, sizeof message);
  result.received = true;
  result.error = message.error;
  result.killable = message.killable != 0;
  if (!fds.empty()) result.listener = std::move(fds.front());
  if (!result.listener && result.error == 0) result.error = EPROTO;
  return result;
}

}  // namespace portsafe::intercept
