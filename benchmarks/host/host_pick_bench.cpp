// The cost of a port-0 pick with host-wide coordination (issue 16) beside the same pick without
// it, in one run: PortTable::pick over the whole range vs HostLeases::pick over the blocks the
// registry leases to the account (its blocks read from the mapped registry, the claim, the
// block's owner+generation re-check). Each pick's claim is dropped at once, as a used port is.
// The host daemon's RPCs (a lease per block, a query per fixed port in another account's block)
// are not on this path (one lease per 128 picks); BM_HostQuery times one query round trip to a
// real `portsafed --host` (its answer read from the other account's table with pread).
//
//   sudo build/bin/host_pick_bench      (root: the registry must be root-owned)
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "portsafe/host_client.hpp"
#include "portsafe/host_leases.hpp"
#include "registry_writer.hpp"

namespace portsafe {
namespace {

constexpr PortRange kRange{4096, 16383};  // 12,288 ports: the default range's size
constexpr uint32_t kBlockSize = 128;      // 96 blocks

std::string random_table_name() {
  std::random_device entropy;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%08x%08x", entropy(), entropy());
  return std::string("portsafe-") + hex;
}

Claimant self_claimant() {
  Claimant who;
  who.process = read_own_identity();
  who.job_id = pack_identity(who.process);
  return who;
}

struct Setup {
  std::string dir;
  std::string name = random_table_name();
  std::unique_ptr<PortTable> table;
  std::unique_ptr<host::HostRegistryWriter> writer;
  Setup() {
    char pattern[] = "/tmp/portsafe-host-bench-XXXXXX";
    dir = ::mkdtemp(pattern);
    ::chmod(dir.c_str(), 0755);
    TableSpec spec;
    spec.name = name;
    spec.range = kRange;
    spec.socket_path = "/nonexistent/portsafed.sock";
    table = PortTable::open_or_create(spec).table;
    host::RegistrySpec registry;
    registry.dir = dir;
    registry.range = kRange;
    registry.block_size = kBlockSize;
    registry.netns_inode = network_namespace_inode();
    writer = host::HostRegistryWriter::open_or_create(registry).writer;
  }
  ~Setup() {
    table.reset();
    PortTable::remove(name);
    writer.reset();
    std::filesystem::remove_all(dir);
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

void BM_PickWholeRange(benchmark::State& state) {
  PortTable& table = *setup().table;
  const Claimant me = self_claimant();
  for (auto _ : state) {
    const PickResult r = table.pick(Protocol::tcp, kRange, me);
    table.drop(r.ref, me.process);
  }
}
BENCHMARK(BM_PickWholeRange);

// The account holds `blocks` blocks (of 96); every other block is another account's.
void BM_PickInLeasedBlocks(benchmark::State& state) {
  Setup& s = setup();
  const auto blocks = static_cast<uint32_t>(state.range(0));
  for (uint32_t i = 0; i < s.writer->view().block_count(); ++i) {
    if (i < blocks) {
      s.writer->grant(i, ::geteuid(), s.name, monotonic_ms());
    } else {
      s.writer->grant(i, 65534, "portsafe-0000000000000000", monotonic_ms());
    }
  }
  HostLeasesOpen attached = HostLeases::attach(*s.table, s.dir);
  if (!attached.leases) {
    state.SkipWithError(attached.reason.c_str());
    return;
  }
  const Claimant me = self_claimant();
  for (auto _ : state) {
    const PickResult r = attached.leases->pick(*s.table, Protocol::tcp, me);
    s.table->drop(r.ref, me.process);
  }
  for (uint32_t i = 0; i < s.writer->view().block_count(); ++i) {
    s.writer->mark_reclaiming(i);
    s.writer->release(i);
  }
}
BENCHMARK(BM_PickInLeasedBlocks)->Arg(1)->Arg(8)->Arg(48);

// A real host daemon with a registry of its own; the port asked about is claimed in the table of
// the account its block is leased to (this process's uid, another table).
void BM_HostQuery(benchmark::State& state) {
  char pattern[] = "/tmp/portsafe-host-bench-d-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  ::chmod(dir.c_str(), 0755);
  const pid_t daemon = ::fork();
  if (daemon == 0) {
    ::setenv("PORTSAFE_RANGE", "4096-16383", 1);
    ::execl(PORTSAFED_PATH, "portsafed", "--host", "--host-dir", dir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const std::string socket = host_socket_path(dir);
  for (int i = 0; i < 500 && ::access(socket.c_str(), F_OK) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Setup& s = setup();
  const HostClient client(socket.c_str());
  const HostReply lease = client.lease(s.name.c_str(), 2'000);
  if (lease.answer != HostAnswer::granted) {
    state.SkipWithError("the host daemon did not lease a block");
  } else {
    const auto port = static_cast<uint16_t>(kRange.low + lease.block * kBlockSize);
    const PortClaim claim = s.table->claim_port(Protocol::tcp, port, self_claimant());
    for (auto _ : state) {
      const HostReply reply = client.query(Protocol::tcp, port, 2'000);
      if (reply.answer != HostAnswer::taken) state.SkipWithError("the query was not answered 'taken'");
    }
    s.table->drop(claim.ref, read_own_identity());
  }
  ::kill(daemon, SIGTERM);
  ::waitpid(daemon, nullptr, 0);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_HostQuery)->UseRealTime();

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
    const auto reference = ns_per_op_.find("BM_PickWholeRange");
    if (reference == ns_per_op_.end()) return;
    std::printf("\nratio to a pick without host coordination (%.1f ns), same run:\n", reference->second);
    for (const auto& [name, ns] : ns_per_op_) std::printf("  %-32s %8.1f ns  %5.2fx\n", name.c_str(), ns, ns / reference->second);
  }

 private:
  std::map<std::string, double> ns_per_op_;
};

}  // namespace
}  // namespace portsafe

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::fprintf(stderr, "host_pick_bench: run as root (the host registry must be root-owned)\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  portsafe::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return 0;
}
