#include "portsafe/runtime_root.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "portsafe/environment.hpp"

namespace portsafe {
namespace {

uint64_t fnv1a64(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// mkdir that tolerates a concurrent creator; the checks after it decide whether we trust it.
bool make_directory(const std::string& path, std::string& error) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return true;
  error = fmt::format("cannot create runtime directory {}: {}; set PORTSAFE_RUNTIME_DIR to a writable directory",
                      path, std::strerror(errno));
  return false;
}

}  // namespace

RuntimeRoot prepare_private_directory(const std::string& path) {
  RuntimeRoot root;
  root.path = path;
  if (path.empty() || path.front() != '/') {
    root.error = fmt::format("runtime directory '{}' must be an absolute path", path);
    return root;
  }
  if (!make_directory(path, root.error)) return root;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    root.error = fmt::format("cannot inspect runtime directory {}: {}", path, std::strerror(errno));
    return root;
  }
  if (S_ISLNK(st.st_mode)) {
    root.error = fmt::format("runtime directory {} is a symlink; portsafe never follows one: remove it", path);
    return root;
  }
  if (!S_ISDIR(st.st_mode)) {
    root.error = fmt::format("runtime directory {} is not a directory: remove it or set PORTSAFE_RUNTIME_DIR", path);
    return root;
  }
  if (st.st_uid != ::geteuid()) {
    root.error = fmt::format("runtime directory {} belongs to uid {}, not to you (uid {}): remove it or set "
                             "PORTSAFE_RUNTIME_DIR to a directory of your own",
                             path, st.st_uid, ::geteuid());
    return root;
  }
  if ((st.st_mode & 0077) != 0) {
    root.error = fmt::format("runtime directory {} has mode {:o}; it must be private: chmod 700 {}", path,
                             st.st_mode & 07777, path);
    return root;
  }
  root.ok = true;
  return root;
}

RuntimeRoot prepare_inspected_directory(const std::string& path) {
  struct stat st {};
  if (::geteuid() == 0 && !path.empty() && path.front() == '/' && ::lstat(path.c_str(), &st) == 0 &&
      S_ISDIR(st.st_mode) && st.st_uid != 0 && (st.st_mode & 0077) == 0) {
    RuntimeRoot root;
    root.ok = true;
    root.path = path;
    return root;
  }
  return prepare_private_directory(path);  // every other case, with its one-line reason
}

std::string default_runtime_base() {
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && xdg[0] == '/') {
    return fmt::format("{}/portsafe", xdg);
  }
  return fmt::format("/tmp/portsafe-{}", ::geteuid());
}

std::string network_namespace_tag() {
  struct stat st {};
  if (::stat("/proc/self/ns/net", &st) != 0) return "net-unknown";
  return fmt::format("net-{}", st.st_ino);
}

RuntimeRoot resolve_runtime_root() {
  if (const char* dir = std::getenv(env::kRuntimeDir); dir != nullptr && *dir != '\0') {
    auto root = prepare_private_directory(dir);
    if (!root.ok) root.error = fmt::format("{}: {}", env::kRuntimeDir, root.error);
    return root;
  }
  auto base = prepare_private_directory(default_runtime_base());
  if (!base.ok) return base;
  return prepare_private_directory(fmt::format("{}/{}", base.path, network_namespace_tag()));
}

std::string supervisor_socket_path(const std::string& root) { return root + "/portsafed.sock"; }
std::string supervisor_lock_path(const std::string& root) { return root + "/portsafed.lock"; }
std::string supervisor_log_path(const std::string& root) { return root + "/portsafed.log"; }

std::string table_name(const std::string& root) {
  return fmt::format("portsafe-{:016x}", fnv1a64(root));
}

}  // namespace portsafe
