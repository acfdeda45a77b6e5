// Issue 16: the host daemon reads accounts' tables as root with pread only. A table its owner
// truncates, fills with garbage or replaces by a FIFO or a link must neither crash nor stall the
// daemon (every read is checked, every retry bounded); claims are judged as the core judges them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>

#include "host_fixture.hpp"
#include "keeper_fixture.hpp"
#include "table_reader.hpp"

namespace portsafe::host::testing {
namespace {

class TableReader : public HostTest {
 protected:
  std::optional<ForeignTable> open_table(const PortTable& table, uid_t uid = 0) {
    std::string reason;
    auto opened = ForeignTable::open(table.name(), uid, reason);
    EXPECT_TRUE(opened) << reason;
    return opened;
  }
  static void overwrite(const std::string& name, off_t offset, size_t size) {
    std::mt19937_64 random(42);
    std::vector<unsigned char> junk(size);
    for (auto& byte : junk) byte = static_cast<unsigned char>(random());
    const int fd = ::open(PortTable::shm_path(name).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, junk.data(), junk.size(), offset), static_cast<ssize_t>(junk.size()));
    ::close(fd);
  }
};

TEST_F(TableReader, SeesLiveClaimsAndLingersAndNotTheDead) {
  PortTable& table = make_table(0);
  const auto reader = open_table(table);
  ASSERT_TRUE(reader);
  const int64_t now = monotonic_ms();
  EXPECT_EQ(reader->port_use(Protocol::tcp, 30301, now), PortUse::free);
  EXPECT_EQ(reader->block_use(PortRange{30300, 30315}, now), BlockUse::idle);

  const PortClaim bound = table.claim_port(Protocol::tcp, 30301, claimant());
  ASSERT_EQ(bound.result, ClaimResult::claimed);
  EXPECT_EQ(reader->port_use(Protocol::tcp, 30301, now), PortUse::claimed);
  EXPECT_EQ(reader->port_use(Protocol::udp, 30301, now), PortUse::free);
  EXPECT_EQ(reader->block_use(PortRange{30300, 30315}, now), BlockUse::in_use);
  EXPECT_EQ(reader->block_use(PortRange{30316, 30331}, now), BlockUse::idle);

  ASSERT_TRUE(table.release(bound.ref, claimant().process, now));  // unused: lingers for the job
  EXPECT_EQ(reader->port_use(Protocol::tcp, 30301, now), PortUse::claimed);
  EXPECT_EQ(reader->port_use(Protocol::tcp, 30301, now + 61'000), PortUse::free) << "an expired linger claims nothing";

  Claimant dead = claimant();
  dead.process = supervisor::dead_process();
  dead.job_id = pack_identity(dead.process);
  ASSERT_EQ(table.claim_port(Protocol::udp, 30302, dead).result, ClaimResult::claimed);
  EXPECT_EQ(reader->port_use(Protocol::udp, 30302, now), PortUse::free) << "a dead owner's claim is reclaimable";
}

TEST_F(TableReader, ATableTruncatedAfterOpeningIsUnknownNotACrash) {
  PortTable& table = make_table(0);
  ASSERT_EQ(table.claim_port(Protocol::udp, 30360, claimant()).result, ClaimResult::claimed);
  const auto reader = open_table(table);
  ASSERT_TRUE(reader);
  ASSERT_EQ(::truncate(PortTable::shm_path(table.name()).c_str(), kHeaderBytes + 3 * sizeof(Slot)), 0);
  const int64_t now = monotonic_ms();
  EXPECT_EQ(reader->port_use(Protocol::udp, 30360, now), PortUse::free);
  // A short read is no proof the table is gone: its block must stay leased (unknown).
  EXPECT_EQ(reader->block_use(PortRange{30348, 30363}, now), BlockUse::unknown);
  ASSERT_EQ(::truncate(PortTable::shm_path(table.name()).c_str(), 0), 0);
  EXPECT_EQ(reader->block_use(PortRange{30300, 30315}, now), BlockUse::unknown);
  std::string reason;
  EXPECT_FALSE(ForeignTable::open(table.name(), 0, reason)) << "a truncated table is not opened again";
}

TEST_F(TableReader, GarbageSlotsAreReadInBoundedTime) {
  PortTable& table = make_table(0);
  overwrite(table.name(), static_cast<off_t>(kHeaderBytes), 128 * sizeof(Slot));
  const auto reader = open_table(table);
  ASSERT_TRUE(reader);
  // Each slot is reread at most a few times: a loop on garbage would hang here until ctest's
  // timeout fails the test.
  const int64_t now = monotonic_ms();
  for (uint16_t port = kHostRange.low; port <= kHostRange.high; ++port) {
    (void)reader->port_use(Protocol::tcp, port, now);
    (void)reader->port_use(Protocol::udp, port, now);
  }
  const BlockUse use = reader->block_use(kHostRange, now);
  EXPECT_TRUE(use == BlockUse::idle || use == BlockUse::in_use) << "garbage is read, not a truncation";
}

TEST_F(TableReader, AGarbageHeaderIsRefused) {
  PortTable& table = make_table(0);
  overwrite(table.name(), 0, kHeaderBytes);
  std::string reason;
  EXPECT_FALSE(ForeignTable::open(table.name(), 0, reason));
  EXPECT_NE(reason.find("not a valid table"), std::string::npos) << reason;
}

TEST_F(TableReader, OnlyTheAccountsOwnPrivateTableIsRead) {
  PortTable& theirs = make_table(kOtherUid);
  std::string reason;
  EXPECT_FALSE(ForeignTable::open(theirs.name(), 0, reason)) << "uid 0 asked for another uid's table";
  EXPECT_TRUE(ForeignTable::open(theirs.name(), kOtherUid, reason)) << reason;
  ASSERT_EQ(::chmod(PortTable::shm_path(theirs.name()).c_str(), 0644), 0);
  EXPECT_FALSE(ForeignTable::open(theirs.name(), kOtherUid, reason)) << "a table others can read is not private";
}

TEST_F(TableReader, AFifoOrALinkAtTheNameIsRefusedWithoutBlocking) {
  const std::string fifo = account_table_name();
  ASSERT_EQ(::mkfifo(PortTable::shm_path(fifo).c_str(), 0600), 0);
  names_.push_back(fifo);
  std::string reason;
  EXPECT_FALSE(ForeignTable::open(fifo, 0, reason));  // returns at once: O_NONBLOCK
  PortTable& real = make_table(0);
  const std::string link = account_table_name();
  ASSERT_EQ(::symlink(PortTable::shm_path(real.name()).c_str(), PortTable::shm_path(link).c_str()), 0);
  names_.push_back(link);
  EXPECT_FALSE(ForeignTable::open(link, 0, reason)) << "a link is never followed";
}

TEST_F(TableReader, OnlyTableNamesAreAccepted) {
  EXPECT_TRUE(is_table_name("portsafe-0123456789abcdef"));
  EXPECT_FALSE(is_table_name("portsafe-0123456789ABCDEF"));
  EXPECT_FALSE(is_table_name("portsafe-0123456789abcde"));
  EXPECT_FALSE(is_table_name("../../etc/shadow"));
  EXPECT_FALSE(is_table_name("portsafe-0123456789abcde/"));
  std::string reason;
  EXPECT_FALSE(ForeignTable::open("../../etc/shadow", 0, reason));
}

}  // namespace
}  // namespace portsafe::host::testing
