// What a virtual port costs a connection: a TCP connect+accept round trip (socket, connect to
// 127.0.0.1, accept, close both) measured three ways, interleaved batch by batch in one run:
//   bare          this process outside any job cgroup, to the listener's real port
//   job_real      inside a job cgroup with the --virtual BPF programs attached, to the real port
//                 (every hook runs, none rewrites: what any connect of a bpf-mode job pays)
//   job_virtual   inside that cgroup, to the virtual port (connect rewritten to the real port)
// Counters: ns per round trip of each, and the ratios virtual/bare and virtual/job_real.
// Needs root (CAP_BPF + CAP_NET_ADMIN) and cgroup2, like --virtual-mode bpf; it loads the same
// programs through the same library as portsafe-run, without a supervisor (the real port is the
// listener's own).
// Run: build/bin/virtual_connect_benchmark
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <string>

#include "portsafe/unique_fd.hpp"
#include "virtual/bpf_rewriter.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using portsafe::UniqueFd;

constexpr uint16_t kVirtualPort = 18080;
constexpr int kBatch = 200;

enum Kind { kBare, kJobReal, kJobVirtual, kKinds };

sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// One round trip; false when a call failed. SO_LINGER 0 closes with a reset, so no TIME_WAIT
// piles up over thousands of connections.
bool round_trip(int listener, uint16_t port) {
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sockaddr_in to = loopback(port);
  if (!client || ::connect(client.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) return false;
  UniqueFd accepted(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  const linger reset{1, 0};
  ::setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  return accepted.valid();
}

// This process's cgroup.procs in the v2 hierarchy (to come back to after a job batch).
std::string own_cgroup_procs() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) {
      std::string path = line.substr(3);
      if (path == "/") path.clear();
      return portsafe::virt::find_cgroup2_mount() + path + "/cgroup.procs";
    }
  }
  return "";
}

bool move_self(int procs) { return ::write(procs, "0", 1) == 1; }

void BM_ConnectAcceptRoundTrip(benchmark::State& state) {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in at = loopback(0);
  socklen_t length = sizeof at;
  if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0 ||
      ::listen(listener.get(), 64) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&at), &length) != 0) {
    state.SkipWithError("cannot listen on 127.0.0.1");
    return;
  }
  const uint16_t real = ntohs(at.sin_port);
  portsafe::virt::BpfStart bpf = portsafe::virt::start_bpf_rewriter({{portsafe::Protocol::tcp, kVirtualPort, real}});
  if (!bpf.rewriter) {
    state.SkipWithError(bpf.error.c_str());
    return;
  }
  UniqueFd home(::open(own_cgroup_procs().c_str(), O_WRONLY | O_CLOEXEC));
  const int job = bpf.rewriter->cgroup().procs_fd();
  if (!home) {
    state.SkipWithError("cannot open this process's cgroup.procs");
    return;
  }
  double total_ns[kKinds] = {};
  long count[kKinds] = {};
  for (auto _ : state) {
    for (int kind = 0; kind < kKinds; ++kind) {
      if (!move_self(kind == kBare ? home.get() : job)) {
        state.SkipWithError("cannot move into the cgroup");
        return;
      }
      const uint16_t port = kind == kJobVirtual ? kVirtualPort : real;
      const auto start = Clock::now();
      for (int i = 0; i < kBatch; ++i) {
        if (!round_trip(listener.get(), port)) {
          move_self(home.get());
          state.SkipWithError("a round trip failed");
          return;
        }
      }
      const double elapsed = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
      total_ns[kind] += elapsed;
      count[kind] += kBatch;
      if (kind == kJobVirtual) state.SetIterationTime(elapsed / 1e9 / kBatch);
    }
  }
  move_self(home.get());  // out of the job cgroup, so it can be removed
  const auto per = [&](Kind kind) { return count[kind] > 0 ? total_ns[kind] / static_cast<double>(count[kind]) : 0; };
  state.counters["bare_ns"] = per(kBare);
  state.counters["job_real_ns"] = per(kJobReal);
  state.counters["job_virtual_ns"] = per(kJobVirtual);
  state.counters["virtual/bare"] = per(kBare) > 0 ? per(kJobVirtual) / per(kBare) : 0;
  state.counters["virtual/job_real"] = per(kJobReal) > 0 ? per(kJobVirtual) / per(kJobReal) : 0;
}

BENCHMARK(BM_ConnectAcceptRoundTrip)->UseManualTime()->Iterations(50)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
