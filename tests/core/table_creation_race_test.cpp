// Many processes creating the same table at once end with one table that all of them use.
#include <sys/wait.h>

#include "table_fixture.hpp"

namespace portsafe::testing {
namespace {

TEST(TableCreationRace, ConcurrentCreatorsShareOneTable) {
  TableSpec spec = small_spec({20000, 20063});
  constexpr int kCreators = 16;
  int gate[2];
  ASSERT_EQ(pipe(gate), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kCreators; ++i) {
    const pid_t child = fork();
    if (child == 0) {
      close(gate[1]);
      char c;
      (void)!read(gate[0], &c, 1);  // all start together when the gate closes
      auto opened = PortTable::open_or_create(spec);
      if (!opened.table) _exit(2);
      Claimant who;
      who.process = read_own_identity();
      who.job_id = 1;  // a job id no reaper can judge dead: pid 1 with start time 0
      const PortClaim claim = opened.table->claim_port(Protocol::tcp, static_cast<uint16_t>(20000 + i), who);
      if (claim.result != ClaimResult::claimed) _exit(3);
      opened.table->mark_used(claim.ref);
      _exit(0);
    }
    children.push_back(child);
  }
  close(gate[0]);
  close(gate[1]);
  for (const pid_t child : children) {
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "exit " << WEXITSTATUS(status);
  }
  auto opened = PortTable::open_existing(spec.name);
  ASSERT_TRUE(opened.table) << opened.message;
  // Every creator's claim landed in the same table (the claimers are dead now: bound slots).
  int claimed = 0;
  for (int i = 0; i < kCreators; ++i) {
    if (opened.table->view(Protocol::tcp, static_cast<uint16_t>(20000 + i))->state == SlotState::bound) ++claimed;
  }
  EXPECT_EQ(claimed, kCreators);
  PortTable::remove(spec.name);
}

}  // namespace
}  // namespace portsafe::testing
