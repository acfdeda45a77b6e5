// Resolving a command like execvp: first executable match in PATH; 126 vs 127 decided up front.
#include "common/program_lookup.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using portsafe::tools::LookupStatus;
using portsafe::tools::lookup_program;

namespace {

class ProgramLookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/portsafe-lookup-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    fs::create_directories(dir_ + "/a");
    fs::create_directories(dir_ + "/b");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void make_file(const std::string& path, fs::perms perms) {
    std::ofstream(path) << "#!/bin/sh\n";
    fs::permissions(path, perms);
  }
  std::string dir_;
};

TEST_F(ProgramLookupTest, FindsFirstExecutableInPathOrder) {
  make_file(dir_ + "/a/tool", fs::perms::owner_read);  // not executable: skipped
  make_file(dir_ + "/b/tool", fs::perms::owner_all);
  const std::string path = dir_ + "/a:" + dir_ + "/b";
  const auto found = lookup_program("tool", path.c_str());
  EXPECT_EQ(found.status, LookupStatus::found);
  EXPECT_EQ(found.path, dir_ + "/b/tool");
}

TEST_F(ProgramLookupTest, OnlyUnrunnableCandidateIsNotExecutable) {
  make_file(dir_ + "/a/tool", fs::perms::owner_read);
  const std::string path = dir_ + "/a:" + dir_ + "/b";
  const auto found = lookup_program("tool", path.c_str());
  EXPECT_EQ(found.status, LookupStatus::not_executable);
  EXPECT_EQ(found.path, dir_ + "/a/tool");
}

TEST_F(ProgramLookupTest, NothingIsNotFound) {
  const std::string path = dir_ + "/a";
  EXPECT_EQ(lookup_program("tool", path.c_str()).status, LookupStatus::not_found);
  EXPECT_EQ(lookup_program("", path.c_str()).status, LookupStatus::not_found);
}

TEST_F(ProgramLookupTest, SlashMeansNoPathSearch) {
  make_file(dir_ + "/a/tool", fs::perms::owner_all);
  EXPECT_EQ(lookup_program(dir_ + "/a/tool", "/nonexistent").status, LookupStatus::found);
  EXPECT_EQ(lookup_program(dir_ + "/a", "/nonexistent").status, LookupStatus::not_executable);
  EXPECT_EQ(lookup_program(dir_ + "/a/none", "/nonexistent").status, LookupStatus::not_found);
}

TEST_F(ProgramLookupTest, UnsetPathUsesGlibcDefault) {
  EXPECT_EQ(lookup_program("sh", nullptr).status, LookupStatus::found);
}

}  // namespace
