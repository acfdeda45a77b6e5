// A runtime root's table is trusted only when it belongs to the owner of that root directory and
// is private, whoever inspects it: root may look at a user's table on purpose, never at one another
// user planted at its name (or one whose header points at another user's root).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "portsafe/port_table.hpp"
#include "portsafe/runtime_root.hpp"
#include "portsafe/table_access.hpp"

namespace portsafe {
namespace {

constexpr uid_t kOtherUid = 4242;  // any uid but ours; only root can hand files to it

class TableTrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/portsafe-trust-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    ::chmod(root_.c_str(), 0700);
    TableSpec spec;
    spec.name = table_name(root_);
    spec.range = PortRange{20000, 20009};
    spec.socket_path = supervisor_socket_path(root_);
    TableOpen made = PortTable::open_or_create(spec);
    ASSERT_TRUE(made.table) << made.message;
  }
  void TearDown() override {
    PortTable::remove(table_name(root_));
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  std::string shm() const { return PortTable::shm_path(table_name(root_)); }
  std::string root_;
};

TEST_F(TableTrustTest, OwnTableOfOwnRootIsTrusted) {
  EXPECT_TRUE(inspect_root_table(root_).table);
  EXPECT_TRUE(inspect_table(table_name(root_)).table);
  EXPECT_TRUE(PortTable::open_owned_by(table_name(root_), ::geteuid()).table);
}

TEST_F(TableTrustTest, SegmentOfAnotherOwnerThanTheRootsIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the segment to another uid";
  ASSERT_EQ(::chown(shm().c_str(), kOtherUid, kOtherUid), 0);  // planted: private, but not the root owner's
  const TableOpen opened = inspect_root_table(root_);
  EXPECT_FALSE(opened.table);
  EXPECT_EQ(opened.error, TableError::not_private);
  EXPECT_NE(opened.message.find("uid 4242"), std::string::npos) << opened.message;
  EXPECT_FALSE(inspect_table(table_name(root_)).table);
  // What root inspection used to accept: root may open any user's private segment.
  EXPECT_TRUE(PortTable::open_existing(table_name(root_)).table);
}

TEST_F(TableTrustTest, RootInspectsAUsersOwnTable) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to make a root of another uid";
  ASSERT_EQ(::chown(root_.c_str(), kOtherUid, kOtherUid), 0);
  ASSERT_EQ(::chown(shm().c_str(), kOtherUid, kOtherUid), 0);
  EXPECT_TRUE(inspect_root_table(root_).table);
  EXPECT_TRUE(inspect_table(table_name(root_)).table);
  EXPECT_TRUE(prepare_inspected_directory(root_).ok);
  EXPECT_FALSE(prepare_private_directory(root_).ok);  // using it as one's own is still refused
}

TEST_F(TableTrustTest, OpenSegmentIsRefusedEvenToItsOwner) {
  ASSERT_EQ(::chmod(shm().c_str(), 0644), 0);
  const TableOpen opened = inspect_root_table(root_);
  EXPECT_FALSE(opened.table);
  EXPECT_EQ(opened.error, TableError::not_private);
}

TEST_F(TableTrustTest, MissingTableIsReportedAsMissing) {
  PortTable::remove(table_name(root_));
  EXPECT_EQ(inspect_root_table(root_).error, TableError::missing);
}

}  // namespace
}  // namespace portsafe
