#include "portsafe/install_layout.hpp"

#include <unistd.h>

#include <climits>

namespace portsafe {

std::string own_program_directory() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return ".";
  std::string exe(path, static_cast<size_t>(n));
  const auto slash = exe.rfind('/');
  return slash == std::string::npos ? "." : exe.substr(0, slash);
}

std::string sibling_program(const std::string& name) { return own_program_directory() + "/" + name; }

std::string shim_library_path() { return own_program_directory() + "/../lib/" + kShimFileName; }

}  // namespace portsafe
