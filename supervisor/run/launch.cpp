#include "run/launch.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "intercept/bind_filter.hpp"
#include "intercept/listener_transfer.hpp"
#include "portsafe/environment.hpp"

namespace portsafe::run {
namespace {

// Moves fd to a number at or above floor (close-on-exec), so the child's dup2 onto 3, 4, ...
// never overwrites a descriptor it still has to copy.
UniqueFd lift(int fd, int floor) { return UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, floor)); }

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void write_all(int fd, const void* data, size_t size) noexcept {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    size -= static_cast<size_t>(n);
  }
}

// What the child needs, all prepared before it exists.
struct ChildStart {
  const sigset_t* mask;
  int count;
  const int* sources;  // become 3, 4, ...
  char* listen_pid;    // the LISTEN_PID entry to fill in, or null
  const char* path;
  char* const* argv;
  char* const* envp;
  char* const* sh_argv;
  int error_fd;
  pid_t parent;  // portsafe-run
  int filter_channel;  // -1: no seccomp tier
  bool set_no_new_privs;
  bool require_filter;
  char* intercept_value;  // the value of COMMAND's PORTSAFE_INTERCEPT entry, or null
  int cgroup_procs;       // -1: no job cgroup to join
};

constexpr char kCgroupJoinFailed[] =
    "portsafe-run: COMMAND cannot join the job's cgroup, so its virtual ports would not be rewritten; "
    "see portsafe-run -v\n";

// The filter did not go in: COMMAND's PORTSAFE_INTERCEPT must not say it did (a nested
// portsafe-run would trust it). Same length, so it is rewritten in place, without allocating.
constexpr char kSeccompValue[] = "seccomp";
constexpr char kPreloadValue[] = "preload";
static_assert(sizeof kSeccompValue == sizeof kPreloadValue);

// The child's whole life before exec: async-signal-safe calls only, no allocation (it may share
// the parent's memory, see spawn_child).
int run_child(void* arg) {
  const ChildStart& start = *static_cast<const ChildStart*>(arg);
  ::sigprocmask(SIG_SETMASK, start.mask, nullptr);
  // COMMAND must not outlive its job: when portsafe-run dies, even by SIGKILL, the supervisor
  // releases the job's ports, so COMMAND is asked to stop (SIGTERM) rather than run on with
  // ports nobody holds for it any more.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != start.parent) ::_exit(125);  // portsafe-run died before prctl took effect
  for (int i = 0; i < start.count; ++i) {
    if (::dup2(start.sources[i], 3 + i) < 0) {
      const int error = errno;
      write_all(start.error_fd, &error, sizeof error);
      ::_exit(125);
    }
  }
  // Writing "0" moves the writer: COMMAND is in the job's cgroup before its first instruction.
  if (start.cgroup_procs >= 0 && ::write(start.cgroup_procs, "0", 1) != 1) {
    write_all(STDERR_FILENO, kCgroupJoinFailed, sizeof kCgroupJoinFailed - 1);
    ::_exit(125);
  }
  if (start.listen_pid != nullptr) fill_listen_pid(start.listen_pid, static_cast<long>(::getpid()));
  // Last before exec, so nothing of ours pays a notification. The listener is close-on-exec.
  if (start.filter_channel >= 0) {
    const intercept::FilterInstall install = intercept::install_bind_filter(start.set_no_new_privs);
    intercept::send_listener(start.filter_channel, install);
    if (install.listener >= 0) ::close(install.listener);
    // Any failure, EBUSY included: a listener we did not make (a sandbox, a container runtime's
    // syscall interception; a nested portsafe-run never asks, see plan_interception) serves
    // nothing of ours, so the job has the shim alone and says so.
    if (install.listener < 0) {
      if (start.require_filter) ::_exit(125);
      if (start.intercept_value != nullptr) std::memcpy(start.intercept_value, kPreloadValue, sizeof kPreloadValue - 1);
    }
  }
  ::execve(start.path, start.argv, start.envp);
  if (errno == ENOEXEC) ::execve(start.sh_argv[0], start.sh_argv, start.envp);
  const int error = errno;
  write_all(start.error_fd, &error, sizeof error);
  ::_exit(exit_code_for_exec_errno(error));
}

// Like posix_spawn: the child shares our memory and we wait until it has exec'd (CLONE_VM |
// CLONE_VFORK), which skips copying the page tables that fork would. That saves a noticeable part
// of portsafe-run's per-launch cost. Sanitizer runtimes do not follow a clone onto a private
// stack, so sanitizer builds use fork.
pid_t spawn_child(ChildStart& start) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  const pid_t pid = ::fork();
  if (pid == 0) run_child(&start);
  return pid;
#else
  constexpr size_t kStackBytes = 64 * 1024;
  void* stack = ::mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return -1;
  const pid_t pid = ::clone(run_child, static_cast<char*>(stack) + kStackBytes, CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
  const int error = errno;
  ::munmap(stack, kStackBytes);  // the child has exec'd or exited: CLONE_VFORK waited for that
  errno = error;
  return pid;
#endif
}

}  // namespace

int exit_code_for_exec_errno(int error) noexcept { return error == ENOENT || error == ENOTDIR ? 127 : 126; }

Launch launch_command(LaunchPlan& plan, const sigset_t& child_mask) {
  Launch result;
  const int count = static_cast<int>(plan.pass_fds.size());
  const int floor = 3 + count;
  std::vector<UniqueFd> sources;
  for (UniqueFd& fd : plan.pass_fds) {
    sources.push_back(lift(fd.get(), floor));
    if (!sources.back()) {
      result.exec_errno = errno;
      return result;
    }
  }
  // The exec error pipe: closed by a successful exec (CLOEXEC), or carries the child's errno.
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.exec_errno = errno;
    return result;
  }
  UniqueFd error_read(pipe_fds[0]);
  UniqueFd error_write = lift(pipe_fds[1], floor);
  ::close(pipe_fds[1]);
  if (!error_write) {
    result.exec_errno = errno;
    return result;
  }

  std::vector<char*> argv = pointers_to(plan.argv);
  std::vector<char*> envp = pointers_to(plan.environment.entries);
  // execvp's fallback for a file without #! or ELF header (ENOEXEC): run it with /bin/sh.
  std::vector<std::string> sh_args{"/bin/sh", plan.path};
  sh_args.insert(sh_args.end(), plan.argv.begin() + (plan.argv.empty() ? 0 : 1), plan.argv.end());
  std::vector<char*> sh_argv = pointers_to(sh_args);
  char* listen_pid = plan.environment.listen_pid_index ? envp[*plan.environment.listen_pid_index] : nullptr;

  UniqueFd filter_channel;
  if (plan.filter_channel) {
    filter_channel = lift(plan.filter_channel.get(), floor);
    if (!filter_channel) {
      result.exec_errno = errno;
      return result;
    }
    plan.filter_channel.reset();
  }
  UniqueFd cgroup_procs;
  if (plan.cgroup_procs >= 0) {
    cgroup_procs = lift(plan.cgroup_procs, floor);
    if (!cgroup_procs) {
      result.exec_errno = errno;
      return result;
    }
  }
  char* intercept_value = nullptr;
  const std::string intercept_entry = std::string(env::kIntercept) + "=" + kSeccompValue;
  for (std::string& entry : plan.environment.entries) {
    if (entry == intercept_entry) intercept_value = entry.data() + entry.size() - (sizeof kSeccompValue - 1);
  }
  ChildStart start{&child_mask, count, {}, listen_pid, plan.path.c_str(), argv.data(), envp.data(), sh_argv.data(),
                   error_write.get(), ::getpid(), filter_channel ? filter_channel.get() : -1, plan.set_no_new_privs,
                   plan.require_filter, intercept_value, cgroup_procs ? cgroup_procs.get() : -1};
  std::vector<int> source_numbers;
  for (const UniqueFd& fd : sources) source_numbers.push_back(fd.get());
  start.sources = source_numbers.data();
  const pid_t pid = spawn_child(start);
  if (pid < 0) {
    result.exec_errno = errno;
    return result;
  }

  result.pid = pid;
  error_write.reset();
  filter_channel.reset();  // the child's end: receive_listener then sees EOF if it sent nothing
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(error_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) result.exec_errno = child_errno;
  return result;
}

}  // namespace portsafe::run
