// main() of the shim's virtual-port tests. The shim reads PORTSAFE_VIRTUAL once, in its
// constructor, before main runs: the first run sets the environment (a private runtime root and
// the test's virtual ports) and re-executes itself; the second run tests the shim it configured.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "portsafe/port_table.hpp"
#include "portsafe/runtime_root.hpp"
#include "virtual_fixture.hpp"

namespace {

constexpr const char* kReexecMarker = "PORTSAFE_VIRTUAL_TEST_ROOT";

[[noreturn]] void reexec_with_virtual_ports(char** argv) {
  char dir[] = "/tmp/portsafe-virtual-test-XXXXXX";
  if (::mkdtemp(dir) == nullptr) {
    std::perror("mkdtemp");
    std::exit(2);
  }
  ::setenv("PORTSAFE_RUNTIME_DIR", dir, 1);
  ::setenv("PORTSAFE_LOG", "warn", 1);
  ::setenv("PORTSAFE_VIRTUAL", portsafe::virtual_test::kVirtualList, 1);
  ::unsetenv("PORTSAFE_JOB_ID");
  ::setenv(kReexecMarker, dir, 1);
  ::execv("/proc/self/exe", argv);
  std::perror("re-executing the test");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  const char* root = std::getenv(kReexecMarker);
  if (root == nullptr) reexec_with_virtual_ports(argv);
  const std::string dir = root;
  ::unsetenv(kReexecMarker);
  ::testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  portsafe::PortTable::remove(portsafe::table_name(dir));
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return result;
}
