// What both data paths share: a single-threaded epoll loop that runs until the stop descriptor
// (a signalfd for SIGINT/SIGTERM) becomes readable.
#pragma once

#include <cstdint>

namespace portsafe::docker_proxy {

class Relay {
 public:
  virtual ~Relay() = default;
  // Serves until stop_fd is readable; returns an empty string then, or why it had to stop.
  virtual const char* run(int stop_fd) = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit: each TCP connection costs six descriptors
// (two sockets, two pipes).
void raise_descriptor_limit();

}  // namespace portsafe::docker_proxy
