// The header check: a segment that does not match is reported, never trusted; the documented
// recovery (remove it) works; a new table is private and published whole.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstring>

#include "table_fixture.hpp"

namespace portsafe::testing {
namespace {

class TableHeaderTest : public TableTest {
 protected:
  // Rewrites raw bytes of the segment, as a stray writer or an older portsafe would.
  void poke(size_t offset, const void* bytes, size_t size) {
    const int fd = ::open(PortTable::shm_path(spec_.name).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, bytes, size, static_cast<off_t>(offset)), static_cast<ssize_t>(size));
    ::close(fd);
  }
  TableOpen reopen() { return PortTable::open_existing(spec_.name); }
};

TEST_F(TableHeaderTest, NewTableIsPrivateAndComplete) {
  struct stat st {};
  ASSERT_EQ(::stat(PortTable::shm_path(spec_.name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(static_cast<size_t>(st.st_size), kHeaderBytes + 32 * sizeof(Slot));
  EXPECT_EQ(table_->range(), (PortRange{20000, 20015}));
  EXPECT_EQ(table_->socket_path(), "/tmp/portsafe-test.sock");
  EXPECT_EQ(reopen().error, TableError::none);
}

TEST_F(TableHeaderTest, NewTableIgnoresTheUmask) {
  const mode_t old = ::umask(0);
  open(small_spec());
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(PortTable::shm_path(spec_.name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(TableHeaderTest, ExistingTableKeepsItsRange) {
  TableSpec other = spec_;
  other.range = PortRange{30000, 30100};
  auto second = PortTable::open_or_create(other);
  ASSERT_TRUE(second.table) << second.message;
  EXPECT_EQ(second.table->range(), (PortRange{20000, 20015}));
}

TEST_F(TableHeaderTest, MissingTableIsReported) {
  const auto result = PortTable::open_existing("portsafe-test-does-not-exist");
  EXPECT_EQ(result.error, TableError::missing);
  EXPECT_FALSE(result.table);
}

TEST_F(TableHeaderTest, GarbageMagicIsRefusedWithTheFix) {
  poke(0, "GARBAGE!", 8);
  const auto result = reopen();
  EXPECT_EQ(result.error, TableError::bad_magic);
  EXPECT_NE(result.message.find("portsafe gc --reset"), std::string::npos) << result.message;
  EXPECT_NE(result.message.find(PortTable::shm_path(spec_.name)), std::string::npos);
}

TEST_F(TableHeaderTest, WrongVersionIsRefused) {
  const uint32_t version = kTableLayoutVersion + 1;
  poke(offsetof(TableHeader, layout_version), &version, sizeof version);
  const auto result = reopen();
  EXPECT_EQ(result.error, TableError::wrong_version);
  EXPECT_NE(result.message.find("layout version 2"), std::string::npos) << result.message;
}

TEST_F(TableHeaderTest, AlteredGeometryFailsTheChecksum) {
  const uint16_t high = 20100;
  poke(offsetof(TableHeader, range_high), &high, sizeof high);
  EXPECT_EQ(reopen().error, TableError::bad_checksum);
}

TEST_F(TableHeaderTest, TruncatedSegmentIsRefused) {
  ASSERT_EQ(::truncate(PortTable::shm_path(spec_.name).c_str(), kHeaderBytes + sizeof(Slot)), 0);
  const auto result = reopen();
  EXPECT_EQ(result.error, TableError::too_small);
  EXPECT_NE(result.message.find("truncated"), std::string::npos);
  ASSERT_EQ(::truncate(PortTable::shm_path(spec_.name).c_str(), 16), 0);
  EXPECT_EQ(reopen().error, TableError::too_small);
}

TEST_F(TableHeaderTest, OpenOrCreateDoesNotTrustACorruptTable) {
  poke(0, "GARBAGE!", 8);
  const auto result = PortTable::open_or_create(spec_);
  EXPECT_EQ(result.error, TableError::bad_magic);
  EXPECT_FALSE(result.table);
}

TEST_F(TableHeaderTest, RemovingACorruptTableRecovers) {
  poke(0, "GARBAGE!", 8);
  table_.reset();
  ASSERT_TRUE(PortTable::remove(spec_.name));
  auto fresh = PortTable::open_or_create(spec_);
  ASSERT_TRUE(fresh.table) << fresh.message;
  EXPECT_EQ(fresh.error, TableError::none);
}

TEST_F(TableHeaderTest, CreationLeavesNoScratchSegments) {
  int scratch = 0;
  if (auto* dir = ::opendir("/dev/shm")) {
    while (auto* e = ::readdir(dir)) {
      if (std::strncmp(e->d_name, spec_.name.c_str(), spec_.name.size()) == 0 &&
          std::strstr(e->d_name, ".init-") != nullptr) {
        ++scratch;
      }
    }
    ::closedir(dir);
  }
  EXPECT_EQ(scratch, 0);
}

}  // namespace
}  // namespace portsafe::testing
