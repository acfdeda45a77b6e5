// What the seccomp tier costs a bind, next to the shim's and the bare kernel's: the same TCP churn
// (socket / bind port 0 / listen / close) runs in four worker processes started side by side from
// this benchmark, and each benchmark reports per-operation times and ratios measured in one run.
//
//   bare          the loop alone (libc bind)
//   shim          under `portsafe-run --intercept preload`: libc bind reaches the preloaded shim
//   shim_seccomp  under `portsafe-run --intercept seccomp`, libc bind: the shim still serves it (its
//                 own bind passes the filter without a notification), so it should cost the shim's
//   notified      under `portsafe-run --intercept seccomp`, raw syscall(SYS_bind): what a Go or
//                 static program's bind costs, one notification served by portsafe-run's handler
//
// Every job runs with --linger 0: a listener that never served anyone would otherwise stay its
// job's for a minute after close, and a loop of them would fill the range.
// Counters: bare_ns, shim_ns, shim_seccomp_ns, notified_ns (per socket+bind+listen+close), and the
// ratios notified/bare (issue 11's target: at most 10), shim/bare, and shim_seccomp/shim (the
// shim's speed inside a seccomp job: 1 means no change).
//
// Run: build/bin/intercept_churn_benchmark  (portsafe-run is found beside it, the shim at
// bin/../lib/libportsafe.so as the launcher finds it)
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "portsafe/port_table.hpp"
#include "portsafe/runtime_root.hpp"

namespace {

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// ---- the loop, run inside a worker -------------------------------------------------------------
// Raw: the bind LD_PRELOAD cannot see, as Go and static programs make it.
int bind_raw(int fd, const sockaddr* addr, socklen_t length) {
  return static_cast<int>(::syscall(SYS_bind, fd, addr, length));
}

// False (with the failing call named on stderr, once per worker) when a call failed.
bool churn_once(bool raw) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto* any = reinterpret_cast<const sockaddr*>(&addr);
  const char* failed = nullptr;
  if (fd < 0) {
    failed = "socket";
  } else if ((raw ? bind_raw(fd, any, sizeof addr) : ::bind(fd, any, sizeof addr)) != 0) {
    failed = "bind";
  } else if (::listen(fd, 1) != 0) {
    failed = "listen";
  }
  static bool told = false;
  if (failed != nullptr && !told) {
    std::fprintf(stderr, "intercept_churn_benchmark: worker (%s bind): %s: %s\n", raw ? "raw" : "libc", failed,
                 std::strerror(errno));
    told = true;
  }
  ::close(fd);
  return failed == nullptr;
}

// A worker reads COUNT lines and answers with the elapsed nanoseconds (-1 when a bind failed).
int worker_main(bool raw) {
  long count = 0;
  while (std::scanf("%ld", &count) == 1) {
    bool ok = true;
    const int64_t start = now_ns();
    for (long i = 0; i < count; ++i) ok = churn_once(raw) && ok;
    const int64_t elapsed = now_ns() - start;
    std::printf("%lld\n", ok ? static_cast<long long>(elapsed) : -1LL);
    std::fflush(stdout);
  }
  return 0;
}

// ---- the four workers, driven from the benchmark -----------------------------------------------
class Worker {
 public:
  explicit Worker(const std::vector<std::string>& argv) {
    // Close-on-exec: no other worker (nor a supervisor a launcher starts) keeps this worker's
    // stdin open, or it would never see EOF when the benchmark ends. dup2 clears it for 0 and 1.
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(to_child[0], STDIN_FILENO);
      ::dup2(from_child[1], STDOUT_FILENO);
      ::close(to_child[1]);
      ::close(from_child[0]);
      std::vector<char*> args;
      for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_ = ::fdopen(to_child[1], "w");
    from_ = ::fdopen(from_child[0], "r");
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() {
    std::fclose(to_);
    std::fclose(from_);
    ::waitpid(pid_, nullptr, 0);
  }
  // Elapsed ns of count operations; -1 when the worker failed (did not start, or a bind failed).
  int64_t run(long count) {
    std::fprintf(to_, "%ld\n", count);
    std::fflush(to_);
    long long elapsed = -1;
    if (std::fscanf(from_, "%lld", &elapsed) != 1) return -1;
    return elapsed;
  }

 private:
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

std::string g_self;
std::string g_run;  // portsafe-run beside this program

std::vector<std::string> in_job(const char* intercept, const char* loop) {
  return {g_run, "-q", "--intercept", intercept, "--linger", "0", "--", g_self, "--worker", loop};
}

enum Kind { kBare, kShim, kShimSeccomp, kNotified, kKinds };
constexpr std::array<const char*, kKinds> kNames = {"bare_ns", "shim_ns", "shim_seccomp_ns", "notified_ns"};

void BM_TcpSocketBindZeroListenClose(benchmark::State& state) {
  Worker bare({g_self, "--worker", "libc"});
  Worker shim(in_job("preload", "libc"));
  Worker shim_seccomp(in_job("seccomp", "libc"));
  Worker notified(in_job("seccomp", "raw"));
  std::array<Worker*, kKinds> workers = {&bare, &shim, &shim_seccomp, &notified};
  constexpr long kBatch = 200;
  for (Worker* w : workers) {  // warm up all, and check each one works
    if (w->run(kBatch) < 0) {
      state.SkipWithError("a worker failed (is portsafe-run built with --intercept? see its stderr)");
      return;
    }
  }
  std::array<int64_t, kKinds> total{};
  long batches = 0;
  for (auto _ : state) {
    // Rotate which goes first, so drift affects all alike.
    for (int k = 0; k < kKinds; ++k) {
      const int kind = (k + static_cast<int>(batches)) % kKinds;
      const int64_t elapsed = workers[static_cast<size_t>(kind)]->run(kBatch);
      if (elapsed < 0) {
        state.SkipWithError("a bind failed in a worker");
        return;
      }
      total[static_cast<size_t>(kind)] += elapsed;
      if (kind == kNotified) state.SetIterationTime(static_cast<double>(elapsed) / 1e9 / kBatch);
    }
    ++batches;
  }
  const double ops = static_cast<double>(batches * kBatch);
  for (int k = 0; k < kKinds; ++k) {
    state.counters[kNames[static_cast<size_t>(k)]] = static_cast<double>(total[static_cast<size_t>(k)]) / ops;
  }
  const auto ratio = [&](Kind a, Kind b) {
    return static_cast<double>(total[static_cast<size_t>(a)]) / static_cast<double>(total[static_cast<size_t>(b)]);
  };
  state.counters["notified/bare"] = ratio(kNotified, kBare);
  state.counters["shim/bare"] = ratio(kShim, kBare);
  state.counters["shim_seccomp/shim"] = ratio(kShimSeccomp, kShim);
}

BENCHMARK(BM_TcpSocketBindZeroListenClose)->UseManualTime()->Iterations(200);

// The supervisor the jobs started serves this benchmark's private root only: stop it, and wait
// (bounded) until it is gone, so nothing of the root is made again after it is removed.
void stop_supervisor(const std::string& root) {
  std::ifstream lock(portsafe::supervisor_lock_path(root));
  long pid = 0;
  if (!(lock >> pid) || pid <= 0) return;
  ::kill(static_cast<pid_t>(pid), SIGTERM);
  for (int i = 0; i < 500 && ::kill(static_cast<pid_t>(pid), 0) == 0; ++i) ::usleep(10'000);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::strcmp(argv[1], "--worker") == 0) return worker_main(std::strcmp(argv[2], "raw") == 0);
  g_self = std::filesystem::canonical("/proc/self/exe").string();
  g_run = (std::filesystem::path(g_self).parent_path() / "portsafe-run").string();
  // The jobs get a private runtime root and a range of their own, removed at the end.
  char root[] = "/tmp/portsafe-bench-XXXXXX";
  if (::mkdtemp(root) == nullptr) return 1;
  ::setenv("PORTSAFE_RUNTIME_DIR", root, 1);
  ::setenv("PORTSAFE_RANGE", "20000-29999", 1);
  ::unsetenv("PORTSAFE_JOB_ID");
  ::unsetenv("PORTSAFE_JOB");
  ::unsetenv("LD_PRELOAD");
  ::signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  stop_supervisor(root);
  std::error_code ignored;
  std::filesystem::remove_all(root, ignored);
  portsafe::PortTable::remove(portsafe::table_name(root));
  return 0;
}
