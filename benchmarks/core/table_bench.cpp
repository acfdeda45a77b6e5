// Claim + release on the shared table, uncontended and with a second process contending, as ns
// per operation and as a ratio to a bare socket() + close() pair measured in the same run.
//
//   build/bin/table_bench            (prints the Google Benchmark table, then the ratios)
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>

#include "portsafe/port_table.hpp"

namespace portsafe {
namespace {

constexpr PortRange kRange{22000, 22255};

struct BenchTable {
  TableSpec spec;
  std::unique_ptr<PortTable> table;
  BenchTable() {
    spec.name = "portsafe-bench-" + std::to_string(getpid());
    spec.range = kRange;
    spec.socket_path = "/tmp/portsafe-bench.sock";
    table = PortTable::open_or_create(spec).table;
  }
  ~BenchTable() {
    table.reset();
    PortTable::remove(spec.name);
  }
};

Claimant self_claimant() {
  Claimant who;
  who.process = read_own_identity();
  who.job_id = pack_identity(who.process);
  return who;
}

void BM_SocketClose(benchmark::State& state) {
  for (auto _ : state) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    benchmark::DoNotOptimize(fd);
    ::close(fd);
  }
}
BENCHMARK(BM_SocketClose);

// A used claim, so release frees the slot (the lingering path is one more CAS, same cost).
void claim_release_loop(benchmark::State& state, PortTable& table) {
  const Claimant me = self_claimant();
  uint32_t offset = 0;
  for (auto _ : state) {
    const SlotRef ref = table.claim_any(Protocol::tcp, kRange, offset++, me);
    table.mark_used(ref);
    table.release(ref, me.process, 0);
  }
}

void BM_ClaimRelease(benchmark::State& state) {
  BenchTable bench;
  claim_release_loop(state, *bench.table);
}
BENCHMARK(BM_ClaimRelease);

// A second process claims and releases on the same slots for the whole measurement.
void BM_ClaimReleaseContended(benchmark::State& state) {
  BenchTable bench;
  const pid_t rival = fork();
  if (rival == 0) {
    auto opened = PortTable::open_existing(bench.spec.name);
    Claimant me = self_claimant();
    for (uint32_t offset = 0;; ++offset) {
      const SlotRef ref = opened.table->claim_any(Protocol::tcp, kRange, offset, me);
      opened.table->mark_used(ref);
      opened.table->release(ref, me.process, 0);
    }
  }
  claim_release_loop(state, *bench.table);
  kill(rival, SIGKILL);
  waitpid(rival, nullptr, 0);
}
BENCHMARK(BM_ClaimReleaseContended)->UseRealTime();

// Port-0 picks (PortTable::pick, what the shim calls) in a range of default size (10000-32767,
// 22,768 ports) filled to arg percent. Partly full: the other ports are bound by another live
// job, scattered over the range; each pick is used and closed, so the fill stays put. Full (arg
// 100): every port lingers (the listen-only churn of issue 13): each pick takes a linger over and
// closes unused, so the range stays full of lingers. Claim time must stay flat across the rows.
constexpr PortRange kDefaultSized{10000, 32767};

void BM_PickAtFill(benchmark::State& state) {
  TableSpec spec;
  spec.name = "portsafe-bench-fill-" + std::to_string(getpid());
  spec.range = kDefaultSized;
  spec.socket_path = "/tmp/portsafe-bench.sock";
  auto table = PortTable::open_or_create(spec).table;
  const Claimant me = self_claimant();
  Claimant other = me;
  other.job_id = pack_identity(ProcessIdentity{1, 0});
  const auto percent = static_cast<uint32_t>(state.range(0));
  const uint32_t size = kDefaultSized.size();
  const bool full = percent >= 100;
  for (uint32_t i = 0; i < size; ++i) {
    // A multiplicative scatter: the taken ports are spread evenly, not in one block.
    const uint32_t rank = static_cast<uint32_t>((uint64_t{i} * 7919u) % size);
    if (!full && rank >= uint64_t{size} * percent / 100) continue;
    const auto port = static_cast<uint16_t>(kDefaultSized.low + i);
    const PortClaim claim = table->claim_port(Protocol::tcp, port, full ? me : other);
    if (full) table->release(claim.ref, me.process, monotonic_ms());
  }
  for (auto _ : state) {
    const PickResult picked = table->pick(Protocol::tcp, kDefaultSized, me);
    if (!full) table->mark_used(picked.ref);
    table->release(picked.ref, me.process, monotonic_ms());
  }
  state.counters["gave_way"] = static_cast<double>(table->counters().young_lingers_given_way +
                                                   table->counters().lingers_given_way);
  table.reset();
  PortTable::remove(spec.name);
}
BENCHMARK(BM_PickAtFill)->Arg(1)->Arg(50)->Arg(99)->Arg(100);

// Collects ns/op per benchmark so the ratios can be printed side by side after the run.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration) ns_per_op_[run.benchmark_name()] = run.GetAdjustedRealTime();
    }
  }
  void print_ratios() const {
    const auto reference = ns_per_op_.find("BM_SocketClose");
    if (reference == ns_per_op_.end()) return;
    std::printf("\nratio to socket()+close() (%.1f ns), same run:\n", reference->second);
    for (const auto& [name, ns] : ns_per_op_) {
      if (name == reference->first) continue;
      std::printf("  %-40s %8.1f ns/op  %5.2fx\n", name.c_str(), ns, ns / reference->second);
    }
  }

 private:
  std::map<std::string, double> ns_per_op_;
};

}  // namespace
}  // namespace portsafe

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  portsafe::RatioReporter reporter;  // plain text: the report script keeps the output verbatim
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return 0;
}
