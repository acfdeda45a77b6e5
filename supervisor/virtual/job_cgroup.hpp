// One cgroup (v2) per job: the BPF programs are attached to it and COMMAND is moved into it
// before exec, so the rewriting applies to every process of the job and to nothing else.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "portsafe/unique_fd.hpp"

namespace portsafe::virt {

// Where cgroup2 is mounted (from /proc/self/mountinfo); empty when it is not.
std::string find_cgroup2_mount();

// Says whether BPF programs are attached to the cgroup open at fd (a live launcher's are: its
// links go only with it).
using AttachedProbe = std::function<bool(int cgroup_fd)>;

// Removes the empty job cgroups whose launcher is gone (a SIGKILLed portsafe-run cannot remove
// its own; the next portsafe-run that makes a job cgroup beside it does). Gone: no program is
// attached any more, and either the launcher (named in the directory) is dead in this PID
// namespace or, made in another one (whose pids mean nothing here), the cgroup is older than
// kAbandonedAfterSeconds, which a live launcher needs far less than to attach its programs. A
// cgroup that still has processes is left alone: rmdir refuses it.
inline constexpr int kAbandonedAfterSeconds = 10;
void remove_abandoned_cgroups(const std::string& parent, const AttachedProbe& attached);

class JobCgroup {
 public:
  // Makes the job's cgroup beside portsafe-run's own; error says why not (one line).
  static std::unique_ptr<JobCgroup> create(const AttachedProbe& attached, std::string* error);
  ~JobCgroup();  // rmdir (the job has ended); a cgroup with processes left is kept, said at -v
  JobCgroup(const JobCgroup&) = delete;
  JobCgroup& operator=(const JobCgroup&) = delete;

  const std::string& path() const { return path_; }
  int directory_fd() const { return directory_.get(); }  // for the BPF attach
  int procs_fd() const { return procs_.get(); }          // COMMAND writes "0" here before exec

 private:
  JobCgroup(std::string path, UniqueFd directory, UniqueFd procs);
  std::string path_;
  UniqueFd directory_;
  UniqueFd procs_;
};

}  // namespace portsafe::virt
