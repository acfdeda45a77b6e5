#include "log_destination.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace portsafe::docker_proxy {

bool stderr_is_discarded() {
  struct stat err {};
  if (::fstat(STDERR_FILENO, &err) != 0) return true;
  struct stat null {};
  if (!S_ISCHR(err.st_mode) || ::stat("/dev/null", &null) != 0) return false;
  return err.st_rdev == null.st_rdev;
}

std::string root_of_socket_path(const std::string& socket_path) {
  const auto slash = socket_path.rfind('/');
  return slash == std::string::npos || slash == 0 ? std::string() : socket_path.substr(0, slash);
}

bool log_into_runtime_root(const std::string& root) {
  if (root.empty() || !stderr_is_discarded()) return false;
  struct stat dir {};
  // lstat: a root that is a symlink is not one portsafe made (runtime roots are checked dirs).
  if (::lstat(root.c_str(), &dir) != 0 || !S_ISDIR(dir.st_mode)) return false;
  const std::string path = root + "/portsafe-docker-proxy.log";
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (fd < 0) return false;
  // dockerd runs us as root; the file is for the root's owner (the job's user) to read.
  struct stat file {};
  if (::fstat(fd, &file) == 0 && file.st_uid != dir.st_uid) {
    if (::fchown(fd, dir.st_uid, dir.st_gid) != 0) {
      // Still a place to write; its owner is root, which can read it.
    }
  }
  const bool moved = ::dup2(fd, STDERR_FILENO) == STDERR_FILENO;
  ::close(fd);
  return moved;
}

}  // namespace portsafe::docker_proxy
