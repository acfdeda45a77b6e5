// Descriptors travel over Unix sockets as SCM_RIGHTS ancillary data. These helpers send a whole
// buffer with optional descriptors attached, and receive exactly N bytes collecting any
// descriptors that arrive with them (close-on-exec, so they never leak into an exec'd child).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "portsafe/unique_fd.hpp"

namespace portsafe {

inline constexpr size_t kMaxPassedFds = 8;

// Sends all of data; fds ride on the first byte. Returns 0 or an errno value.
int send_with_fds(int socket_fd, const uint8_t* data, size_t size, const int* fds, size_t fd_count) noexcept;

// Receives exactly size bytes (blocking); appends received descriptors to fds_out. Returns 0, an
// errno value, or -1 when the peer closed first.
int receive_exact(int socket_fd, uint8_t* data, size_t size, std::vector<UniqueFd>* fds_out);

}  // namespace portsafe
