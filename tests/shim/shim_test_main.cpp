// main() of the shim's unit tests. The shim reads its environment once, in its constructor,
// before main runs; so the first run makes a private runtime root, sets the environment and
// re-executes itself, and the second run (whose shim now uses that root) runs the tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "portsafe/port_table.hpp"
#include "portsafe/runtime_root.hpp"
#include "shim_fixture.hpp"

namespace {

constexpr const char* kReexecMarker = "PORTSAFE_SHIM_TEST_ROOT";

// The shim in this first run (the environment not yet set) opened, and so created, the table of
// the default root. Inside the test's private network namespace (tests/lib/in_netns.sh) that
// root is this test's alone: remove it rather than leave one segment per test in /dev/shm.
void remove_default_root_table() {
  const char* private_netns = std::getenv("PORTSAFE_IN_NETNS");
  if (private_netns == nullptr || std::string(private_netns) != "1") return;
  const portsafe::RuntimeRoot root = portsafe::resolve_runtime_root();
  if (!root.ok) return;
  portsafe::PortTable::remove(portsafe::table_name(root.path));
  ::rmdir(root.path.c_str());
}

[[noreturn]] void reexec_with_private_root(char** argv) {
  remove_default_root_table();
  char dir[] = "/tmp/portsafe-shim-test-XXXXXX";
  if (::mkdtemp(dir) == nullptr) {
    std::perror("mkdtemp");
    std::exit(2);
  }
  ::setenv("PORTSAFE_RUNTIME_DIR", dir, 1);
  ::setenv("PORTSAFE_RANGE",
           (std::to_string(portsafe::shim_test::kRangeLow) + "-" + std::to_string(portsafe::shim_test::kRangeHigh))
               .c_str(),
           1);
  ::setenv("PORTSAFE_LOG", "warn", 1);
  ::setenv("PORTSAFE_LINGER", "60", 1);
  ::unsetenv("PORTSAFE_JOB_ID");
  ::unsetenv("PORTSAFE_JOB");
  ::setenv(kReexecMarker, dir, 1);
  ::execv("/proc/self/exe", argv);
  std::perror("re-executing the test");
  std::exit(2);
}

void remove_private_root(const std::string& dir) {
  portsafe::PortTable::remove(portsafe::table_name(dir));
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace

int main(int argc, char** argv) {
  const char* root = std::getenv(kReexecMarker);
  if (root == nullptr) reexec_with_private_root(argv);
  const std::string dir = root;
  ::unsetenv(kReexecMarker);  // probes and children make no roots of their own
  ::testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  remove_private_root(dir);
  return result;
}
