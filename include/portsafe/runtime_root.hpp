// One runtime root = one supervisor = one table = one network namespace. The root is
// PORTSAFE_RUNTIME_DIR when set; otherwise a private per-user directory with one subfolder per
// network namespace. Everything else (socket, lock, table name) derives from the root.
#pragma once

#include <string>

namespace portsafe {

struct RuntimeRoot {
  bool ok = false;
  std::string path;   // the root directory
  std::string error;  // one line naming the fix when !ok
};

// Resolves the root for the calling process and creates it (0700) when missing. A directory that
// is a symlink, not owned by us, or group/world-accessible is refused, never followed or trusted.
RuntimeRoot resolve_runtime_root();

// Same checks for a directory given by path (creates it when missing).
RuntimeRoot prepare_private_directory(const std::string& path);

// For looking at a root rather than using it (portsafe status/gc/doctor): the same checks, except
// that root (euid 0) may name another user's existing private directory, so `sudo portsafe status`
// with PORTSAFE_RUNTIME_DIR at a user's root inspects that user's table.
RuntimeRoot prepare_inspected_directory(const std::string& path);

// The per-user base used when PORTSAFE_RUNTIME_DIR is unset: $XDG_RUNTIME_DIR/portsafe, else
// /tmp/portsafe-UID.
std::string default_runtime_base();

// The inode of /proc/self/ns/net, which names the network namespace ("net-4026531840").
std::string network_namespace_tag();

std::string supervisor_socket_path(const std::string& root);
std::string supervisor_lock_path(const std::string& root);
std::string supervisor_log_path(const std::string& root);

// The table's shared-memory name: "portsafe-HASH", HASH (16 hex digits) from the root path, so
// `ls /dev/shm` tells what it is and two roots never share a table. Roots are private
// directories, so two users never derive the same name.
std::string table_name(const std::string& root);

}  // namespace portsafe
