// Classifying what a command runs: the shim reaches only dynamically linked, non-Go, non-set-id
// programs; scripts are judged by their interpreter.
#include "common/binary_kind.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using portsafe::tools::BinaryKind;
using portsafe::tools::classify_file;
using portsafe::tools::classify_program;

namespace {

class BinaryKindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/portsafe-binkind-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_script(const std::string& name, const std::string& text, fs::perms perms = fs::perms::owner_all) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    fs::permissions(path, perms);
    return path;
  }
  std::string copy_of(const std::string& source, const std::string& name) {
    const std::string path = dir_ + "/" + name;
    fs::copy_file(source, path);
    return path;
  }

  std::string dir_;
};

TEST_F(BinaryKindTest, DynamicExecutableIsReachable) {
  const auto info = classify_program("true", "/usr/bin:/bin");
  EXPECT_EQ(info.kind, BinaryKind::dynamic) << info.detail;
  EXPECT_TRUE(portsafe::tools::shim_can_reach(info.kind));
}

TEST_F(BinaryKindTest, StaticExecutableIsNotReachable) {
  // Debian ships ldconfig statically linked (static-pie, so no PT_INTERP).
  const auto info = classify_file("/sbin/ldconfig");
  EXPECT_EQ(info.kind, BinaryKind::static_elf) << info.detail;
  EXPECT_FALSE(portsafe::tools::shim_can_reach(info.kind));
}

TEST_F(BinaryKindTest, GoBuildInfoSectionMeansGo) {
  // A dynamic ELF with Go's .go.buildinfo section: Go makes raw syscalls even when dynamic.
  const std::string payload = write_script("payload", "\xff Go buildinf:");
  const std::string fake_go = dir_ + "/fake-go";
  const std::string command = "objcopy --add-section .go.buildinfo=" + payload + " /bin/true " + fake_go;
  ASSERT_EQ(std::system(command.c_str()), 0);
  const auto info = classify_file(fake_go);
  EXPECT_EQ(info.kind, BinaryKind::go) << info.detail;
}

TEST_F(BinaryKindTest, SetuidToAnotherUserDropsPreload) {
  const std::string path = copy_of("/bin/true", "setuid-true");
  const uid_t other = ::geteuid() == 0 ? 65534 : 0;  // nobody, or root when we are not root
  if (::chown(path.c_str(), other, static_cast<gid_t>(-1)) != 0) GTEST_SKIP() << "cannot chown to another user";
  ASSERT_EQ(::chmod(path.c_str(), 04755), 0);
  EXPECT_EQ(classify_file(path).kind, BinaryKind::setid);
}

TEST_F(BinaryKindTest, ScriptIsJudgedByItsInterpreter) {
  const auto shell = classify_file(write_script("shell.sh", "#!/bin/sh\necho hi\n"));
  EXPECT_EQ(shell.kind, BinaryKind::dynamic) << shell.detail;
  ASSERT_EQ(shell.interpreters.size(), 1u);
  EXPECT_EQ(shell.interpreters[0], "/bin/sh");

  const auto on_static = classify_file(write_script("static.sh", "#! /sbin/ldconfig -p\n"));
  EXPECT_EQ(on_static.kind, BinaryKind::static_elf) << on_static.detail;
}

TEST_F(BinaryKindTest, EnvShebangFollowsPath) {
  const auto info = classify_file(write_script("py", "#!/usr/bin/env -S python3 -u\nprint(1)\n"));
  EXPECT_EQ(info.kind, BinaryKind::dynamic) << info.detail;
  ASSERT_GE(info.interpreters.size(), 1u);  // python3 in PATH may itself be a wrapper script
  EXPECT_NE(info.interpreters[0].find("python3"), std::string::npos);
}

TEST_F(BinaryKindTest, ScriptWithMissingInterpreterIsNotFound) {
  const auto info = classify_file(write_script("broken", "#!/nonexistent/interpreter\n"));
  EXPECT_EQ(info.kind, BinaryKind::not_found) << info.detail;
}

TEST_F(BinaryKindTest, MissingAndUnrunnableFiles) {
  EXPECT_EQ(classify_program("portsafe-no-such-program", "/usr/bin:/bin").kind, BinaryKind::not_found);
  EXPECT_EQ(classify_file(dir_ + "/missing").kind, BinaryKind::not_found);
  EXPECT_EQ(classify_file(write_script("plain", "data\n", fs::perms::owner_read)).kind, BinaryKind::not_executable);
  EXPECT_EQ(classify_file(dir_).kind, BinaryKind::not_executable);
}

TEST_F(BinaryKindTest, TextWithoutShebangIsUnknown) {
  EXPECT_EQ(classify_file(write_script("text", "echo hello\n")).kind, BinaryKind::unknown);
}

}  // namespace
