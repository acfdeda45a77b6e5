// What the shim costs a program: the same loops run in two worker processes started side by
// side from this benchmark, one bare and one with LD_PRELOAD=libportsafe.so, and each benchmark
// reports the ratio shim/bare measured in the same run (counters "bare_ns", "shim_ns", "ratio").
//
//   churn       UDP socket / bind port 0 / one datagram / close  (the shim picks, claims, marks
//               the claim used, frees it at close). A TCP bind/listen/close would not do: a port
//               that only listened lingers for the job, so a loop of them fills the range.
//   unix_bind   socket(AF_UNIX) / bind / close          (interposed, passed through)
//   getsockname getsockname on a bound socket           (not interposed at all)
//   claimed_udp sendto + recv of one datagram on a socket the shim claimed (both calls marked)
//   unix_pair   send + recv of one byte on an AF_UNIX socketpair (interposed, no claim: the
//               cost every program's ordinary sends and receives pay for the use tracking)
//
// Run: build/bin/shim_churn_benchmark  (the shim is found at bin/../lib/libportsafe.so)
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "portsafe/port_table.hpp"
#include "portsafe/runtime_root.hpp"

namespace {

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// ---- the loops, run inside a worker ------------------------------------------------------------
sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

uint16_t port_of(int fd) {
  sockaddr_in addr{};
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  return ntohs(addr.sin_port);
}

// A bare UDP socket the churn's datagrams go to (drained now and then, so sends never block).
int sink_socket() {
  static int sink = -1;
  if (sink < 0) {
    sink = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const sockaddr_in addr = loopback(0);
    if (::bind(sink, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) std::abort();
  }
  return sink;
}

void drain(int fd) {
  char buf[64];
  while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
}

void churn_once() {
  const int sink = sink_socket();
  const sockaddr_in to = loopback(port_of(sink));
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  const sockaddr_in addr = loopback(0);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) std::abort();
  if (::sendto(fd, "x", 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 1) std::abort();
  ::close(fd);
}

void claimed_udp_once(int fd, const sockaddr_in& self) {
  char byte = 0;
  if (::sendto(fd, "x", 1, 0, reinterpret_cast<const sockaddr*>(&self), sizeof self) != 1) std::abort();
  if (::recv(fd, &byte, 1, 0) != 1) std::abort();
}

void unix_pair_once(const int (&pair)[2]) {
  char byte = 0;
  if (::send(pair[0], "x", 1, 0) != 1 || ::recv(pair[1], &byte, 1, 0) != 1) std::abort();
}

void unix_bind_once(long n) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // Abstract namespace: no file to remove; unique per worker and call.
  const int len = std::snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "ps-bench-%d-%ld", ::getpid(), n);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), static_cast<socklen_t>(sizeof(sa_family_t) + 1 + len)) != 0) {
    std::abort();
  }
  ::close(fd);
}

int64_t run_loop(const std::string& what, long count) {
  static int bound = -1;
  if (bound < 0) {
    bound = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(bound, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  static long serial = 0;
  const int64_t start = now_ns();
  if (what == "churn") {
    for (long i = 0; i < count; ++i) churn_once();
    drain(sink_socket());
  } else if (what == "claimed_udp") {
    static int claimed = -1;
    static sockaddr_in self{};
    if (claimed < 0) {
      claimed = ::socket(AF_INET, SOCK_DGRAM, 0);
      const sockaddr_in addr = loopback(0);
      if (::bind(claimed, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) std::abort();
      self = loopback(port_of(claimed));
    }
    for (long i = 0; i < count; ++i) claimed_udp_once(claimed, self);
  } else if (what == "unix_pair") {
    static int pair[2] = {-1, -1};
    if (pair[0] < 0 && ::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) std::abort();
    for (long i = 0; i < count; ++i) unix_pair_once(pair);
  } else if (what == "unix_bind") {
    for (long i = 0; i < count; ++i) unix_bind_once(serial++);
  } else {
    sockaddr_storage addr{};
    for (long i = 0; i < count; ++i) {
      socklen_t length = sizeof addr;
      ::getsockname(bound, reinterpret_cast<sockaddr*>(&addr), &length);
      benchmark::DoNotOptimize(addr);
    }
  }
  return now_ns() - start;
}

// A worker reads "WHAT COUNT" lines and answers with the elapsed nanoseconds.
int worker_main() {
  char what[32];
  long count = 0;
  while (std::scanf("%31s %ld", what, &count) == 2) {
    std::printf("%lld\n", static_cast<long long>(run_loop(what, count)));
    std::fflush(stdout);
  }
  return 0;
}

// ---- the two workers, driven from the benchmark ------------------------------------------------
class Worker {
 public:
  Worker(const char* self, const std::string& preload) {
    int to_child[2];
    int from_child[2];
    if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(to_child[0], STDIN_FILENO);
      ::dup2(from_child[1], STDOUT_FILENO);
      ::close(to_child[1]);
      ::close(from_child[0]);
      if (!preload.empty()) ::setenv("LD_PRELOAD", preload.c_str(), 1);
      ::execl(self, self, "--worker", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_ = ::fdopen(to_child[1], "w");
    from_ = ::fdopen(from_child[0], "r");
  }
  ~Worker() {
    std::fclose(to_);
    std::fclose(from_);
    ::waitpid(pid_, nullptr, 0);
  }
  int64_t run(const char* what, long count) {
    std::fprintf(to_, "%s %ld\n", what, count);
    std::fflush(to_);
    long long elapsed = 0;
    if (std::fscanf(from_, "%lld", &elapsed) != 1) std::abort();
    return elapsed;
  }

 private:
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

std::string g_self;
std::string g_shim;

void compare(benchmark::State& state, const char* what) {
  Worker bare(g_self.c_str(), "");
  Worker shim(g_self.c_str(), g_shim);
  constexpr long kBatch = 200;
  bare.run(what, kBatch);  // warm up both
  shim.run(what, kBatch);
  int64_t bare_total = 0;
  int64_t shim_total = 0;
  long batches = 0;
  for (auto _ : state) {
    // Alternate which goes first, so drift affects both alike.
    const bool bare_first = (batches % 2) == 0;
    const int64_t first = (bare_first ? bare : shim).run(what, kBatch);
    const int64_t second = (bare_first ? shim : bare).run(what, kBatch);
    const int64_t shim_ns = bare_first ? second : first;
    bare_total += bare_first ? first : second;
    shim_total += shim_ns;
    ++batches;
    state.SetIterationTime(static_cast<double>(shim_ns) / 1e9 / kBatch);
  }
  const double ops = static_cast<double>(batches * kBatch);
  state.counters["bare_ns"] = static_cast<double>(bare_total) / ops;
  state.counters["shim_ns"] = static_cast<double>(shim_total) / ops;
  state.counters["ratio"] = static_cast<double>(shim_total) / static_cast<double>(bare_total);
}

void BM_UdpSocketBindZeroSendClose(benchmark::State& state) { compare(state, "churn"); }
void BM_UnixSocketBindClose(benchmark::State& state) { compare(state, "unix_bind"); }
void BM_Getsockname(benchmark::State& state) { compare(state, "getsockname"); }
void BM_ClaimedUdpSendRecv(benchmark::State& state) { compare(state, "claimed_udp"); }
void BM_UnclaimedSendRecv(benchmark::State& state) { compare(state, "unix_pair"); }

BENCHMARK(BM_UdpSocketBindZeroSendClose)->UseManualTime()->Iterations(300);
BENCHMARK(BM_UnixSocketBindClose)->UseManualTime()->Iterations(300);
BENCHMARK(BM_Getsockname)->UseManualTime()->Iterations(300);
BENCHMARK(BM_ClaimedUdpSendRecv)->UseManualTime()->Iterations(300);
BENCHMARK(BM_UnclaimedSendRecv)->UseManualTime()->Iterations(300);

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--worker") == 0) return worker_main();
  g_self = std::filesystem::canonical("/proc/self/exe").string();
  g_shim = std::filesystem::path(g_self).parent_path().parent_path() / "lib" / "libportsafe.so";
  // The shimmed worker gets a private runtime root, removed at the end.
  char root[] = "/tmp/portsafe-bench-XXXXXX";
  if (::mkdtemp(root) == nullptr) return 1;
  ::setenv("PORTSAFE_RUNTIME_DIR", root, 1);
  ::unsetenv("PORTSAFE_JOB_ID");
  ::signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ignored;
  std::filesystem::remove_all(root, ignored);
  portsafe::PortTable::remove(portsafe::table_name(root));
  return 0;
}
