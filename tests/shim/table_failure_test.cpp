// Without a usable table (a runtime root it may not trust, a corrupt segment, a bad range), the
// shim says so once on stderr and every call passes straight through; the program never breaks.
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "portsafe/runtime_root.hpp"
#include "shim_fixture.hpp"

namespace portsafe::shim_test {
namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Two binds in the probe: both succeed with kernel-chosen ports, one warning in all.
void expect_passthrough_with_one_warning(const ProbeResult& probe, const std::string& reason) {
  ASSERT_EQ(probe.exit_code, 0) << probe.out << probe.err;
  EXPECT_EQ(count(probe.out, "port "), 2u) << probe.out;
  EXPECT_EQ(count(probe.err, "\n"), 1u) << "exactly one line: " << probe.err;
  EXPECT_NE(probe.err.find("inactive, binds pass through unchanged"), std::string::npos) << probe.err;
  EXPECT_NE(probe.err.find(reason), std::string::npos) << probe.err;
}

TEST(TableFailure, UntrustedRuntimeRootPassesThroughWithOneWarning) {
  const std::string shared = runtime_root() + "/world-readable";
  std::filesystem::create_directory(shared);
  ::chmod(shared.c_str(), 0755);
  const ProbeResult probe = run_probe({"bind0", "tcp", "2"}, {{"PORTSAFE_RUNTIME_DIR", shared.c_str()}});
  expect_passthrough_with_one_warning(probe, "chmod 700");
}

TEST(TableFailure, CorruptTablePassesThroughWithOneWarning) {
  const std::string root = runtime_root() + "/corrupt";
  std::filesystem::create_directory(root);
  ::chmod(root.c_str(), 0700);
  const std::string shm = PortTable::shm_path(table_name(root));
  {
    std::ofstream garbage(shm, std::ios::binary);
    const std::string junk(4096, 'x');
    garbage << junk;
  }
  ::chmod(shm.c_str(), 0600);  // private, as a table must be: only its content is wrong
  const ProbeResult probe = run_probe({"bind0", "udp", "2"}, {{"PORTSAFE_RUNTIME_DIR", root.c_str()}});
  expect_passthrough_with_one_warning(probe, "portsafe gc --reset");
  ::unlink(shm.c_str());
}

}  // namespace
}  // namespace portsafe::shim_test
