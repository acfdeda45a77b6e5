// How the listener fd travels from the launcher's child (which installs the filter just before
// exec) to portsafe-run (which serves it): one message over a socketpair, with the fd attached
// when the install worked and the errno when it did not.
#pragma once

#include "intercept/bind_filter.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::intercept {

// Child side, between fork and exec: async-signal-safe, allocation-free.
void send_listener(int channel, const FilterInstall& install) noexcept;

struct ReceivedListener {
  bool received = false;  // false: the child ended before it got that far
  UniqueFd listener;
  int error = 0;          // the install's errno when listener is invalid
  bool killable = false;  // WAIT_KILLABLE_RECV in effect
};

// Parent side, after the child exec'd (or died); the child's end must be closed here already.
ReceivedListener receive_listener(int channel);

}  // namespace portsafe::intercept
