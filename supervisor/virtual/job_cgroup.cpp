#include "virtual/job_cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "portsafe/log.hpp"
#include "portsafe/process_identity.hpp"

namespace portsafe::virt {
namespace {

constexpr const char* kPrefix = "portsafe-job-";

struct Cgroup2Mount {
  std::string mount_point;
  std::string root;  // the mount's root inside the hierarchy (field 4 of mountinfo)
};

// mountinfo escapes spaces and the like as \ooo.
std::string unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      const int value = (text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 + (text[i + 3] - '0');
      out += static_cast<char>(value);
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::optional<Cgroup2Mount> read_cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, device, root, mount_point;
    head >> id >> parent >> device >> root >> mount_point;
    return Cgroup2Mount{unescape(mount_point), unescape(root)};
  }
  return std::nullopt;
}

// "0::/some/path" from /proc/self/cgroup: this process's place in the v2 hierarchy.
std::string read_own_cgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return "/";
}

// The job cgroups go beside portsafe-run's own, so a nested job stays inside the outer job's
// cgroup (its rewriting still applies) and the job stays in whatever accounting the caller is in.
std::string parent_directory(const Cgroup2Mount& mount) {
  std::string own = read_own_cgroup();
  if (mount.root != "/") {
    if (own.rfind(mount.root, 0) != 0) return mount.mount_point;  // not visible through this mount
    own = own.substr(mount.root.size());
  }
  while (!own.empty() && own.back() == '/') own.pop_back();
  return mount.mount_point + own;
}

uint64_t own_pid_namespace() {
  struct stat st {};
  return ::stat("/proc/self/ns/pid", &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

}  // namespace

std::string find_cgroup2_mount() {
  const auto mount = read_cgroup2_mount();
  return mount ? mount->mount_point : std::string();
}

void remove_abandoned_cgroups(const std::string& parent, const AttachedProbe& attached) {
  DIR* dir = ::opendir(parent.c_str());
  if (dir == nullptr) return;
  const std::string here = fmt::format("{}{}-", kPrefix, own_pid_namespace());
  const time_t now = ::time(nullptr);
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.rfind(kPrefix, 0) != 0) continue;
    const std::string path = parent + "/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    bool gone = false;
    if (name.rfind(here, 0) == 0) {
      const auto launcher = parse_identity(name.c_str() + here.size());
      gone = launcher && !is_process_alive(*launcher);
    } else {
      gone = now - st.st_mtime > kAbandonedAfterSeconds;
    }
    if (!gone) continue;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd || attached(fd.get())) continue;
    fd.reset();
    if (::rmdir(path.c_str()) == 0) {
      log_info("removed the cgroup {} of a portsafe-run that died", path);
    } else {
      log_debug("cannot remove the abandoned cgroup {}: {}", path, std::strerror(errno));
    }
  }
  ::closedir(dir);
}

JobCgroup::JobCgroup(std::string path, UniqueFd directory, UniqueFd procs)
    : path_(std::move(path)), directory_(std::move(directory)), procs_(std::move(procs)) {}

std::unique_ptr<JobCgroup> JobCgroup::create(const AttachedProbe& attached, std::string* error) {
  const auto mount = read_cgroup2_mount();
  if (!mount) {
    *error = "no cgroup2 file system is mounted (mount -t cgroup2 none /sys/fs/cgroup/unified)";
    return nullptr;
  }
  const std::string parent = parent_directory(*mount);
  remove_abandoned_cgroups(parent, attached);
  const ProcessIdentity me = read_own_identity();
  const std::string path = fmt::format("{}/{}{}-{}.{}", parent, kPrefix, own_pid_namespace(), me.pid, me.start_ticks);
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    *error = fmt::format("cannot create the job's cgroup {}: {}", path, std::strerror(errno));
    return nullptr;
  }
  UniqueFd directory(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd procs(::open((path + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  if (!directory || !procs) {
    *error = fmt::format("cannot open the job's cgroup {}: {}", path, std::strerror(errno));
    ::rmdir(path.c_str());
    return nullptr;
  }
  return std::unique_ptr<JobCgroup>(new JobCgroup(path, std::move(directory), std::move(procs)));
}

JobCgroup::~JobCgroup() {
  procs_.reset();
  directory_.reset();
  if (::rmdir(path_.c_str()) != 0) {
    log_info("the job's cgroup {} is kept: {} (processes of the job still run in it)", path_, std::strerror(errno));
  }
}

}  // namespace portsafe::virt
