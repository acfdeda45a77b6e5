// The runtime root: private, owner-checked, never a symlink; names derive from it.
#include "portsafe/runtime_root.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace portsafe {
namespace {

class RuntimeRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/portsafe-root-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    base_ = pattern;
  }
  void TearDown() override {
    std::filesystem::remove_all(base_);
    unsetenv("PORTSAFE_RUNTIME_DIR");
  }
  std::string base_;
};

TEST_F(RuntimeRootTest, CreatesAMissingDirectoryPrivately) {
  const std::string dir = base_ + "/root";
  const mode_t old = umask(0);
  const auto root = prepare_private_directory(dir);
  umask(old);
  ASSERT_TRUE(root.ok) << root.error;
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(RuntimeRootTest, RefusesASymlink) {
  const std::string target = base_ + "/target";
  const std::string link = base_ + "/link";
  ASSERT_EQ(mkdir(target.c_str(), 0700), 0);
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  const auto root = prepare_private_directory(link);
  EXPECT_FALSE(root.ok);
  EXPECT_NE(root.error.find("symlink"), std::string::npos) << root.error;
}

TEST_F(RuntimeRootTest, RefusesAGroupOrWorldAccessibleDirectory) {
  const std::string dir = base_ + "/open";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  const auto root = prepare_private_directory(dir);
  EXPECT_FALSE(root.ok);
  EXPECT_NE(root.error.find("chmod 700"), std::string::npos) << root.error;
}

TEST_F(RuntimeRootTest, RefusesADirectoryOfAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  const std::string dir = base_ + "/foreign";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
  const auto root = prepare_private_directory(dir);
  EXPECT_FALSE(root.ok);
  EXPECT_NE(root.error.find("belongs to uid 65534"), std::string::npos) << root.error;
}

TEST_F(RuntimeRootTest, RefusesARelativePath) {
  EXPECT_FALSE(prepare_private_directory("relative/dir").ok);
}

TEST_F(RuntimeRootTest, EnvironmentOverrideIsTheRoot) {
  const std::string dir = base_ + "/env-root";
  setenv("PORTSAFE_RUNTIME_DIR", dir.c_str(), 1);
  const auto root = resolve_runtime_root();
  ASSERT_TRUE(root.ok) << root.error;
  EXPECT_EQ(root.path, dir);
}

TEST_F(RuntimeRootTest, DefaultRootHasOneFolderPerNetworkNamespace) {
  setenv("XDG_RUNTIME_DIR", base_.c_str(), 1);
  const auto root = resolve_runtime_root();
  unsetenv("XDG_RUNTIME_DIR");
  ASSERT_TRUE(root.ok) << root.error;
  EXPECT_EQ(root.path, base_ + "/portsafe/" + network_namespace_tag());
  EXPECT_EQ(network_namespace_tag().rfind("net-", 0), 0u);
}

TEST_F(RuntimeRootTest, NamesDeriveFromTheRoot) {
  EXPECT_EQ(supervisor_socket_path("/r"), "/r/portsafed.sock");
  EXPECT_EQ(table_name("/r").rfind("portsafe-", 0), 0u);
  EXPECT_EQ(table_name("/r").size(), std::string("portsafe-").size() + 16);
  EXPECT_NE(table_name("/r"), table_name("/s"));
  EXPECT_EQ(table_name("/r"), table_name("/r"));
}

}  // namespace
}  // namespace portsafe
