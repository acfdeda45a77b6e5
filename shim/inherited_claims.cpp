#include "inherited_claims.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <cstdlib>

#include "fd_claims.hpp"
#include "shim_state.hpp"
#include "socket_kind.hpp"

namespace portsafe::shim {
namespace {

bool is_socket(int fd) noexcept {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

// Tracks fd when it is bound to a range port whose slot is bound by this very process.
bool adopt(int fd) noexcept {
  if (!is_socket(fd)) return false;
  const auto proto = inet_socket_protocol(fd);
  const auto port = local_port(fd);
  if (!proto || !port) return false;
  const SlotRef ref = g_state.table->ref_of(*proto, *port);
  if (!ref.valid() || slot_word::state(ref.word) != SlotState::bound) return false;
  const ProcessIdentity me = unpack_identity(pack_identity(g_state.claimant.process));
  if (slot_word::owner(ref.word) != me) return false;
  track_fd(fd, FdClaim{ref, *port});
  return true;
}

}  // namespace

int adopt_inherited_claims() noexcept {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  const int own = ::dirfd(dir);
  int adopted = 0;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == own || fd < 0 || fd >= kTrackedFds) continue;
    if (adopt(static_cast<int>(fd))) ++adopted;
  }
  ::closedir(dir);
  return adopted;
}

}  // namespace portsafe::shim
