// How much time portsafe-run adds to a command: each iteration runs `/bin/true` bare and
// `portsafe-run -- /bin/true` side by side, so the reference is measured in the same conditions.
// Reported counters (milliseconds per launch): bare_ms, wrapped_ms, added_ms, and ratio.
//   warm: the supervisor is already running (the usual case inside a CI job or a test suite)
//   cold: the supervisor is killed before each wrapped launch, so portsafe-run starts it
// Run: build/bin/bench_run_launch   (uses a private PORTSAFE_RUNTIME_DIR; leaves nothing behind)
#include <benchmark/benchmark.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "portsafe/install_layout.hpp"
#include "portsafe/port_table.hpp"
#include "portsafe/process_identity.hpp"
#include "portsafe/runtime_root.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

// A private runtime root for the whole benchmark run, removed (with its supervisor and table) at exit.
struct PrivateRoot {
  std::string path;
  PrivateRoot() {
    char pattern[] = "/tmp/portsafe-bench-run-XXXXXX";
    path = ::mkdtemp(pattern);
    ::setenv("PORTSAFE_RUNTIME_DIR", path.c_str(), 1);
  }
  ~PrivateRoot();
};

PrivateRoot& root() {
  static PrivateRoot instance;
  return instance;
}

std::optional<portsafe::ProcessIdentity> supervisor_identity() {
  std::ifstream lock(portsafe::supervisor_lock_path(root().path));
  long pid = 0;
  if (!(lock >> pid) || pid <= 0) return std::nullopt;
  return portsafe::read_process_identity(static_cast<pid_t>(pid));
}

// Stops the supervisor and waits (bounded) until it is gone, so the next launch starts a new one.
void stop_supervisor() {
  const auto who = supervisor_identity();
  if (!who) return;
  ::kill(static_cast<pid_t>(who->pid), SIGKILL);
  for (int i = 0; i < 2000 && portsafe::is_process_alive(*who); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

PrivateRoot::~PrivateRoot() {
  stop_supervisor();
  portsafe::PortTable::remove(portsafe::table_name(path));
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

// Runs argv to completion; returns its wall time in milliseconds (negative on failure).
double time_run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const auto start = Clock::now();
  pid_t pid = 0;
  if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ms : -1;
}

void report(benchmark::State& state, double bare_total, double wrapped_total) {
  const double n = static_cast<double>(state.iterations());
  state.counters["bare_ms"] = bare_total / n;
  state.counters["wrapped_ms"] = wrapped_total / n;
  state.counters["added_ms"] = (wrapped_total - bare_total) / n;
  state.counters["ratio"] = bare_total > 0 ? wrapped_total / bare_total : 0;
}

void run_launches(benchmark::State& state, bool cold) {
  const std::vector<std::string> bare{"/bin/true"};
  const std::vector<std::string> wrapped{portsafe::sibling_program("portsafe-run"), "--", "/bin/true"};
  root();
  if (!cold && time_run(wrapped) < 0) state.SkipWithError("portsafe-run -- /bin/true failed");  // warm it up
  double bare_total = 0, wrapped_total = 0;
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      stop_supervisor();
      state.ResumeTiming();
    }
    const double b = time_run(bare);
    const double w = time_run(wrapped);
    if (b < 0 || w < 0) {
      state.SkipWithError("a launch failed");
      break;
    }
    bare_total += b;
    wrapped_total += w;
  }
  report(state, bare_total, wrapped_total);
}

void BM_LaunchWarmSupervisor(benchmark::State& state) { run_launches(state, false); }
void BM_LaunchColdSupervisor(benchmark::State& state) { run_launches(state, true); }

BENCHMARK(BM_LaunchWarmSupervisor)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_LaunchColdSupervisor)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(30);

}  // namespace

BENCHMARK_MAIN();
