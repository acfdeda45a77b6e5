// 32 processes claim and release at random while a killer SIGKILLs random ones, many of them in
// the middle of a table operation. Invariants: never two live owners of one slot, every dead
// owner's slot reclaimable afterwards, no process ever blocks.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <chrono>
#include <random>

#include "table_fixture.hpp"

namespace portsafe::testing {
namespace {

constexpr int kWorkers = 32;
constexpr auto kStormTime = std::chrono::seconds(3);
constexpr PortRange kRange{21000, 21063};  // 64 ports x 2 protocols for 32 workers: contended

// Shared between the test and its workers (MAP_SHARED | MAP_ANONYMOUS before fork).
struct Witness {
  std::atomic<int32_t> holder[kRange.high - kRange.low + 1][kProtocolCount];  // pid that believes it owns
  std::atomic<int32_t> violations;
  std::atomic<int64_t> operations;
  std::atomic<int32_t> in_operation[kWorkers];  // set while a worker is inside a table call
  std::atomic<int32_t> stop;
};

[[noreturn]] void run_worker(const std::string& table_name, Witness* witness, int slot_id, uint64_t job_id) {
  auto opened = PortTable::open_existing(table_name);
  if (!opened.table) _exit(2);
  PortTable& table = *opened.table;
  std::mt19937 random(static_cast<uint32_t>(getpid()));
  Claimant me;
  me.process = read_own_identity();
  me.job_id = job_id;
  me.linger_ms = 5;  // lingers must end quickly or the small range fills for good
  std::vector<std::pair<SlotRef, Protocol>> mine;
  while (witness->stop.load() == 0) {
    const auto proto = static_cast<Protocol>(random() % 2);
    witness->in_operation[slot_id].store(1);
    if (mine.size() < 3 && random() % 3 != 0) {
      SlotRef ref;
      if (random() % 2 == 0) {
        ref = table.claim_any(proto, kRange, static_cast<uint32_t>(random()), me);
      } else {
        const auto port = static_cast<uint16_t>(kRange.low + random() % kRange.size());
        const PortClaim claim = table.claim_port(proto, port, me);
        if (claim.result == ClaimResult::claimed) ref = claim.ref;
      }
      if (ref.valid()) {
        const auto column = static_cast<size_t>(proto);
        const auto row = ref.index % kRange.size();
        const int32_t previous = witness->holder[row][column].exchange(getpid());
        // A previous holder that is still alive means two live owners of one slot.
        if (previous != 0 && read_process_identity(previous).has_value()) witness->violations.fetch_add(1);
        if (random() % 2 == 0) table.mark_used(ref);
        mine.emplace_back(ref, proto);
      }
    } else if (!mine.empty()) {
      const size_t pick = random() % mine.size();
      const auto [ref, ref_proto] = mine[pick];
      mine.erase(mine.begin() + static_cast<long>(pick));
      int32_t expected = getpid();
      witness->holder[ref.index % kRange.size()][static_cast<size_t>(ref_proto)].compare_exchange_strong(expected, 0);
      table.release(ref, me.process, monotonic_ms());
    }
    witness->in_operation[slot_id].store(0);
    witness->operations.fetch_add(1);
  }
  _exit(0);
}

TEST(TableStress, KillStormKeepsOwnershipExclusiveAndReclaimable) {
  TableSpec spec = small_spec(kRange);
  auto opened = PortTable::open_or_create(spec);
  ASSERT_TRUE(opened.table) << opened.message;
  PortTable& table = *opened.table;
  void* shared = mmap(nullptr, sizeof(Witness), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(shared, MAP_FAILED);
  auto* witness = new (shared) Witness{};
  const uint64_t job_id = pack_identity(read_own_identity());

  std::vector<pid_t> workers(kWorkers);
  auto spawn = [&](int i) {
    const pid_t pid = fork();
    if (pid == 0) run_worker(spec.name, witness, i, job_id);
    workers[static_cast<size_t>(i)] = pid;
  };
  for (int i = 0; i < kWorkers; ++i) spawn(i);

  std::mt19937 random(1234);
  int kills = 0;
  int kills_mid_operation = 0;
  const auto end = std::chrono::steady_clock::now() + kStormTime;
  while (std::chrono::steady_clock::now() < end) {
    usleep(2000);
    const int victim = static_cast<int>(random() % kWorkers);
    if (witness->in_operation[victim].load() != 0) ++kills_mid_operation;
    kill(workers[static_cast<size_t>(victim)], SIGKILL);
    waitpid(workers[static_cast<size_t>(victim)], nullptr, 0);
    witness->in_operation[victim].store(0);
    ++kills;
    spawn(victim);
  }
  witness->stop.store(1);
  // No process may block: every survivor must notice the stop flag and exit promptly.
  int hung = 0;
  for (const pid_t pid : workers) {
    int status = 0;
    bool exited = false;
    for (int i = 0; i < 500 && !exited; ++i) {  // up to 5 s each, polled
      exited = waitpid(pid, &status, WNOHANG) == pid;
      if (!exited) usleep(10000);
    }
    if (!exited) {
      ++hung;
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    } else {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
  }
  EXPECT_EQ(hung, 0);
  EXPECT_EQ(witness->violations.load(), 0);
  EXPECT_GT(witness->operations.load(), 10'000);
  EXPECT_GT(kills, 20);
  EXPECT_GT(kills_mid_operation, 0);

  // Everyone is dead now: every slot must be reclaimable by anyone, with no waiting. Lingers are
  // owned by this (live) test process as job leader, so reap as if their time had passed: the
  // first pass turns unused ports of dead binders into lingers, the second ends every linger.
  table.reap(monotonic_ms() + 3'600'000);
  table.reap(monotonic_ms() + 7'200'000);
  const auto left = table.list();
  EXPECT_TRUE(left.empty()) << left.size() << " slots left, first: port " << left[0].port << " state "
                            << slot_state_name(left[0].state);
  RecordProperty("operations", std::to_string(witness->operations.load()));
  RecordProperty("kills", std::to_string(kills));
  RecordProperty("kills_mid_operation", std::to_string(kills_mid_operation));
  std::printf("stress: %lld operations, %d kills (%d mid-operation), %d violations\n",
              static_cast<long long>(witness->operations.load()), kills, kills_mid_operation,
              witness->violations.load());
  munmap(shared, sizeof(Witness));
  PortTable::remove(spec.name);
}

}  // namespace
}  // namespace portsafe::testing
