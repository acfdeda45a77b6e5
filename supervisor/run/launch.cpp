#include "run/launch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

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

  const pid_t pid = ::fork();
  if (pid < 0) {
    result.exec_errno = errno;
    return result;
  }
  if (pid == 0) {
    ::sigprocmask(SIG_SETMASK, &child_mask, nullptr);
    for (int i = 0; i < count; ++i) {
      if (::dup2(sources[static_cast<size_t>(i)].get(), 3 + i) < 0) {
        const int error = errno;
        write_all(error_write.get(), &error, sizeof error);
        ::_exit(125);
      }
    }
    if (listen_pid != nullptr) fill_listen_pid(listen_pid, static_cast<long>(::getpid()));
    ::execve(plan.path.c_str(), argv.data(), envp.data());
    if (errno == ENOEXEC) ::execve(sh_argv[0], sh_argv.data(), envp.data());
    const int error = errno;
    write_all(error_write.get(), &error, sizeof error);
    ::_exit(exit_code_for_exec_errno(error));
  }

  result.pid = pid;
  error_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(error_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) result.exec_errno = child_errno;
  return result;
}

}  // namespace portsafe::run
