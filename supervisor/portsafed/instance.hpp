// Startup of the one supervisor of a runtime root: the instance lock and the listening socket.
#pragma once

#include <string>

#include "portsafe/unique_fd.hpp"

namespace portsafe::supervisor {

enum class LockOutcome { acquired, another_serves, failed };

// Takes root/portsafed.lock (flock, never blocking for long). When another supervisor holds it
// and answers on its socket, returns another_serves: that one serves, we are not needed. When
// the holder is on its way out (its socket is gone), waits for it briefly.
LockOutcome take_instance_lock(const std::string& root, UniqueFd& lock_out, std::string& error);

// Writes our pid into the lock file (tests and admins read it), replacing what was there.
void record_pid(int lock_fd);
// Empties the lock file on a clean exit, so nobody signals a pid that may be reused.
void clear_pid(int lock_fd);

// True when systemd passed us the listening socket (LISTEN_PID is our pid, LISTEN_FDS=1).
bool systemd_passed_socket();

// The listening socket: systemd's (LISTEN_PID == our pid, LISTEN_FDS == 1: fd 3), else a new one
// at socket_path (mode 0600; a stale socket file is replaced). from_systemd tells which.
bool open_listener(const std::string& socket_path, UniqueFd& out, bool& from_systemd, std::string& error);

}  // namespace portsafe::supervisor
