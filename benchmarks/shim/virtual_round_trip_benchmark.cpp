// What a virtual port costs a connection in shim mode: a TCP connect+accept round trip (socket,
// connect to 127.0.0.1, accept, close both) measured three ways, interleaved batch by batch in
// one run of one process that links libportsafe.so with PORTSAFE_VIRTUAL set:
//   shim_virtual  through the shim's wrappers, to the virtual port (connect rewritten)
//   shim_real     through the shim's wrappers, to the real port (looked at, not rewritten)
//   bare          raw system calls to the real port (no shim at all)
// Counters: ns per round trip of each, and the ratios virtual/real (the rewrite's own cost) and
// virtual/bare (everything the shim adds to such a connection). BM_GetsocknameOfVirtualPort
// shows the rewrite on a call cheap enough for it to be seen (getsockname, virtual vs. raw).
//
// The shim reads PORTSAFE_VIRTUAL in its constructor: the first run takes a free real port from
// the kernel, sets the list and a private runtime root, and re-executes itself.
// Run: build/bin/shim_virtual_round_trip_benchmark
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "portsafe/port_table.hpp"
#include "portsafe/runtime_root.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint16_t kVirtualPort = 18080;
constexpr int kBatch = 200;
constexpr const char* kRealPortEnv = "PORTSAFE_BENCH_REAL_PORT";

enum Kind { kShimVirtual, kShimReal, kBare, kKinds };

sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

long raw(long number, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  return ::syscall(number, a, b, c, d, e);
}

// One round trip through the shim's wrappers (libc names: the shim interposes them). SO_LINGER 0
// closes with a reset, so no TIME_WAIT piles up over thousands of connections.
bool shim_round_trip(int listener, uint16_t port) {
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_in to = loopback(port);
  bool ok = client >= 0 && ::connect(client, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0;
  const int accepted = ok ? ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC) : -1;
  const linger reset{1, 0};
  if (client >= 0) ::setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ok = ok && accepted >= 0;
  if (accepted >= 0) ::close(accepted);
  if (client >= 0) ::close(client);
  return ok;
}

// The same with raw system calls: what the connection costs without any shim.
bool bare_round_trip(int listener, uint16_t port) {
  const auto client = static_cast<int>(raw(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sockaddr_in to = loopback(port);
  bool ok = client >= 0 && raw(SYS_connect, client, reinterpret_cast<long>(&to), sizeof to) == 0;
  const auto accepted = ok ? static_cast<int>(raw(SYS_accept4, listener, 0, 0, SOCK_CLOEXEC)) : -1;
  const linger reset{1, 0};
  if (client >= 0) raw(SYS_setsockopt, client, SOL_SOCKET, SO_LINGER, reinterpret_cast<long>(&reset), sizeof reset);
  ok = ok && accepted >= 0;
  if (accepted >= 0) raw(SYS_close, accepted);
  if (client >= 0) raw(SYS_close, client);
  return ok;
}

void BM_ConnectAcceptRoundTrip(benchmark::State& state) {
  const auto real = static_cast<uint16_t>(std::atoi(std::getenv(kRealPortEnv)));
  // bind(virtual) through the shim: the listener lands on the real port.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in at = loopback(kVirtualPort);
  sockaddr_in kernel_view{};
  socklen_t length = sizeof kernel_view;
  if (::bind(listener, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0 || ::listen(listener, 64) != 0 ||
      raw(SYS_getsockname, listener, reinterpret_cast<long>(&kernel_view), reinterpret_cast<long>(&length)) != 0 ||
      ntohs(kernel_view.sin_port) != real) {
    state.SkipWithError("the listener is not on the real port: is the shim linked and PORTSAFE_VIRTUAL set?");
    return;
  }
  double total_ns[kKinds] = {};
  long count[kKinds] = {};
  for (auto _ : state) {
    for (int kind = 0; kind < kKinds; ++kind) {
      const auto start = Clock::now();
      for (int i = 0; i < kBatch; ++i) {
        const bool ok = kind == kBare ? bare_round_trip(listener, real)
                                      : shim_round_trip(listener, kind == kShimVirtual ? kVirtualPort : real);
        if (!ok) {
          state.SkipWithError("a round trip failed");
          return;
        }
      }
      const double elapsed = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
      total_ns[kind] += elapsed;
      count[kind] += kBatch;
      if (kind == kShimVirtual) state.SetIterationTime(elapsed / 1e9 / kBatch);
    }
  }
  ::close(listener);
  const auto per = [&](Kind kind) { return count[kind] > 0 ? total_ns[kind] / static_cast<double>(count[kind]) : 0; };
  state.counters["shim_virtual_ns"] = per(kShimVirtual);
  state.counters["shim_real_ns"] = per(kShimReal);
  state.counters["bare_ns"] = per(kBare);
  state.counters["virtual/real"] = per(kShimReal) > 0 ? per(kShimVirtual) / per(kShimReal) : 0;
  state.counters["virtual/bare"] = per(kBare) > 0 ? per(kShimVirtual) / per(kBare) : 0;
}

BENCHMARK(BM_ConnectAcceptRoundTrip)->UseManualTime()->Iterations(50)->Unit(benchmark::kMicrosecond);

// A cheap call, where the rewrite's own cost would show: getsockname of the listener on its
// virtual port through the shim (real port -> 8080 in the program's buffer) vs. the raw call.
void BM_GetsocknameOfVirtualPort(benchmark::State& state) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_in at = loopback(kVirtualPort);
  if (::bind(listener, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0) {
    state.SkipWithError("cannot bind the virtual port");
    return;
  }
  constexpr int kCalls = 20000;
  double shim_ns = 0;
  double bare_ns = 0;
  for (auto _ : state) {
    sockaddr_in seen{};
    socklen_t length = sizeof seen;
    auto start = Clock::now();
    for (int i = 0; i < kCalls; ++i) {
      length = sizeof seen;
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&seen), &length);
    }
    const double shim = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    if (ntohs(seen.sin_port) != kVirtualPort) {
      state.SkipWithError("getsockname did not report the virtual port");
      return;
    }
    start = Clock::now();
    for (int i = 0; i < kCalls; ++i) {
      length = sizeof seen;
      raw(SYS_getsockname, listener, reinterpret_cast<long>(&seen), reinterpret_cast<long>(&length));
    }
    const double bare = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    shim_ns += shim;
    bare_ns += bare;
    state.SetIterationTime(shim / 1e9 / kCalls);
  }
  ::close(listener);
  const double calls = static_cast<double>(state.iterations()) * kCalls;
  state.counters["shim_virtual_ns"] = shim_ns / calls;
  state.counters["bare_ns"] = bare_ns / calls;
  state.counters["virtual/bare"] = bare_ns > 0 ? shim_ns / bare_ns : 0;
}

BENCHMARK(BM_GetsocknameOfVirtualPort)->UseManualTime()->Iterations(50)->Unit(benchmark::kNanosecond);

// First run: a free port from the kernel (raw calls: the shim has no say), the virtual list, a
// private runtime root; then the same program again, whose shim reads them.
[[noreturn]] void reexec_with_virtual_port(char** argv) {
  const auto probe = static_cast<int>(raw(SYS_socket, AF_INET, SOCK_STREAM, 0));
  sockaddr_in any = loopback(0);
  socklen_t length = sizeof any;
  if (raw(SYS_bind, probe, reinterpret_cast<long>(&any), sizeof any) != 0 ||
      raw(SYS_getsockname, probe, reinterpret_cast<long>(&any), reinterpret_cast<long>(&length)) != 0) {
    std::perror("choosing a real port");
    std::exit(1);
  }
  raw(SYS_close, probe);
  const std::string real = std::to_string(ntohs(any.sin_port));
  char root[] = "/tmp/portsafe-virtual-bench-XXXXXX";
  if (::mkdtemp(root) == nullptr) std::exit(1);
  ::setenv("PORTSAFE_RUNTIME_DIR", root, 1);
  ::setenv("PORTSAFE_VIRTUAL", (std::to_string(kVirtualPort) + "/tcp=" + real).c_str(), 1);
  ::setenv(kRealPortEnv, real.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  std::perror("re-executing the benchmark");
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv(kRealPortEnv) == nullptr) reexec_with_virtual_port(argv);
  ::benchmark::Initialize(&argc, argv);
  ::benchmark::RunSpecifiedBenchmarks();
  ::benchmark::Shutdown();
  const std::string root = std::getenv("PORTSAFE_RUNTIME_DIR");
  portsafe::PortTable::remove(portsafe::table_name(root));
  std::error_code ignored;
  std::filesystem::remove_all(root, ignored);
  return 0;
}
