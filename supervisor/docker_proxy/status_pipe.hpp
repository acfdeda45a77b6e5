// The status pipe dockerd gives docker-proxy as fd 3: "0\n" once the proxy serves, or
// "1\n<message>" when it cannot. When fd 3 is not open (a person running it by hand), the
// messages go to stderr instead. The pipe is written once and closed.
#pragma once

#include <string_view>

namespace portsafe::docker_proxy {

inline constexpr int kStatusFd = 3;
inline constexpr int kListenFd = 4;

// Call first in main, before anything opens a descriptor: remembers whether fd 3 is open, marks
// fds 3 and 4 close-on-exec (a launched real docker-proxy gets them back explicitly), and points
// closed stdin/stdout/stderr at /dev/null so no later socket lands on 0-2.
void adopt_inherited_descriptors();

// True when fd 3 was open at start and has not been written yet.
bool status_pipe_open() noexcept;

void report_ready();
void report_failure(std::string_view message);

// Closes fd 3 without writing (a launched real docker-proxy reports through its own copy).
void forget_status_pipe();

}  // namespace portsafe::docker_proxy
