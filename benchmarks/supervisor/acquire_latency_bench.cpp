// Acquire latency: a client sends `acquire` for a held port and waits until the socket is in its
// hand. Beside it, in the same run and interleaved iteration by iteration, the floor: a bare
// SCM_RIGHTS round trip with a process that does nothing but answer with a descriptor. Reported
// as p50/p99 in microseconds and the ratio of the two p50s (counters, never assertions).
//
//   build-*/bin/bench_supervisor_acquire --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "portsafe/fd_passing.hpp"
#include "portsafe/port_table.hpp"
#include "portsafe/runtime_root.hpp"
#include "portsafe/supervisor_client.hpp"

namespace {

using namespace portsafe;
using Clock = std::chrono::steady_clock;

// A real portsafed on a private root, with one job holding one TCP and one UDP port.
class Supervisor {
 public:
  Supervisor() {
    char pattern[] = "/tmp/portsafed-bench-XXXXXX";
    root_ = ::mkdtemp(pattern);
    ::setenv("PORTSAFE_RANGE", "21000-21099", 1);
    pid_ = ::fork();
    if (pid_ == 0) {
      const char* argv[] = {PORTSAFED_PATH, "--foreground", "--runtime-dir", root_.c_str(), "--idle-timeout", "0",
                            "--log-level", "off", nullptr};
      ::execv(PORTSAFED_PATH, const_cast<char* const*>(argv));
      ::_exit(127);
    }
    for (int i = 0; i < 500 && !job_; ++i) {
      auto c = SupervisorClient::connect_socket(supervisor_socket_path(root_));
      if (c.ok()) {
        job_ = std::move(*c.value);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (!job_ || !job_->open_job("bench", 0).ok()) return;
    auto reserved = job_->reserve({{"web", Protocol::tcp, 0}, {"dns", Protocol::udp, 0}});
    if (!reserved.ok()) return;
    tcp_port_ = reserved.value->ports[0].port;
    udp_port_ = reserved.value->ports[1].port;
    consumer_ = std::move(*SupervisorClient::connect_socket(supervisor_socket_path(root_)).value);
  }
  ~Supervisor() {
    consumer_.reset();
    job_.reset();
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    PortTable::remove(table_name(root_));
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  bool ready() const { return consumer_ != nullptr; }
  SupervisorClient& consumer() { return *consumer_; }
  uint16_t tcp_port() const { return tcp_port_; }
  uint16_t udp_port() const { return udp_port_; }

 private:
  std::string root_;
  pid_t pid_ = -1;
  std::unique_ptr<SupervisorClient> job_, consumer_;
  uint16_t tcp_port_ = 0, udp_port_ = 0;
};

// The floor: another process answers each 12-byte request with 12 bytes and a descriptor.
class BareFdServer {
 public:
  BareFdServer() {
    int pair[2];
    ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(pair[0]);
      const int passed = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      uint8_t buffer[12];
      while (receive_exact(pair[1], buffer, sizeof buffer, nullptr) == 0) {
        if (send_with_fds(pair[1], buffer, sizeof buffer, &passed, 1) != 0) break;
      }
      ::_exit(0);
    }
    ::close(pair[1]);
    fd_ = UniqueFd(pair[0]);
  }
  ~BareFdServer() {
    fd_.reset();
    ::waitpid(pid_, nullptr, 0);
  }
  // One round trip; the received descriptor is closed, as the acquire side closes its socket.
  void round_trip() {
    uint8_t buffer[12] = {};
    send_with_fds(fd_.get(), buffer, sizeof buffer, nullptr, 0);
    std::vector<UniqueFd> fds;
    receive_exact(fd_.get(), buffer, sizeof buffer, &fds);
  }

 private:
  pid_t pid_ = -1;
  UniqueFd fd_;
};

double percentile_us(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  const size_t index = std::min(samples.size() - 1, static_cast<size_t>(p * static_cast<double>(samples.size())));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(index), samples.end());
  return samples[index];
}

double elapsed_us(Clock::time_point since) {
  return std::chrono::duration<double, std::micro>(Clock::now() - since).count();
}

void report(benchmark::State& state, std::vector<double>& acquire, std::vector<double>& bare) {
  const double acquire_p50 = percentile_us(acquire, 0.50);
  const double acquire_p99 = percentile_us(acquire, 0.99);
  const double bare_p50 = percentile_us(bare, 0.50);
  const double bare_p99 = percentile_us(bare, 0.99);
  state.counters["acquire_p50_us"] = acquire_p50;
  state.counters["acquire_p99_us"] = acquire_p99;
  state.counters["bare_scm_p50_us"] = bare_p50;
  state.counters["bare_scm_p99_us"] = bare_p99;
  state.counters["p50_ratio"] = bare_p50 > 0 ? acquire_p50 / bare_p50 : 0;
}

// proto tcp: a fresh SO_REUSEADDR socket bound and listening; udp: a dup of the placeholder.
void BM_AcquireBesideBareScmRights(benchmark::State& state) {
  const bool udp = state.range(0) == 1;
  Supervisor supervisor;
  BareFdServer bare_server;
  if (!supervisor.ready()) {
    state.SkipWithError("portsafed did not start");
    return;
  }
  const wire::Acquire request{udp ? Protocol::udp : Protocol::tcp, udp ? supervisor.udp_port() : supervisor.tcp_port(),
                              udp ? "" : "127.0.0.1", !udp};
  std::vector<double> acquire, bare;
  for (auto _ : state) {
    auto start = Clock::now();
    auto acquired = supervisor.consumer().acquire(request);
    acquire.push_back(elapsed_us(start));
    if (!acquired.ok()) {
      state.SkipWithError(acquired.error.message.c_str());
      break;
    }
    start = Clock::now();
    bare_server.round_trip();
    bare.push_back(elapsed_us(start));
  }
  report(state, acquire, bare);
}
BENCHMARK(BM_AcquireBesideBareScmRights)->ArgName("udp")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
