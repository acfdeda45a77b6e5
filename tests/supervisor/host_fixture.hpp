// A host directory with a registry (made by the host daemon's writer), and account tables with
// names the daemon accepts, for the host-mode tests (issue 16). Root only: the registry and its
// directory are trusted only when root owns them, and a table is handed to another uid by chown.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lease_book.hpp"
#include "portsafe/host_leases.hpp"
#include "portsafe/host_registry.hpp"
#include "registry_writer.hpp"

namespace portsafe::host::testing {

inline constexpr PortRange kHostRange{30300, 30363};  // 64 ports
inline constexpr uint32_t kBlockSize = 16;            // 4 blocks
inline constexpr uid_t kOtherUid = 65534;

// "portsafe-" + 16 hex digits, unique on the host.
inline std::string account_table_name() {
  std::random_device entropy;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%08x%08x", entropy(), entropy());
  return std::string("portsafe-") + hex;
}

class HostTest : public ::testing::Test {
 public:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "host-mode tests need root (root-owned registry, chown of tables)";
    char pattern[] = "/tmp/portsafe-host-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ::chmod(dir_.c_str(), 0755);
    make_registry(kHostRange, kBlockSize);
  }
  void TearDown() override {
    tables_.clear();
    for (const std::string& name : names_) PortTable::remove(name);
    writer_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void make_registry(PortRange range, uint32_t block_size) {
    RegistrySpec spec;
    spec.dir = dir_;
    spec.range = range;
    spec.block_size = block_size;
    spec.netns_inode = network_namespace_inode();
    WriterOpen opened = HostRegistryWriter::open_or_create(spec);
    ASSERT_TRUE(opened.writer) << opened.error;
    writer_ = std::move(opened.writer);
  }
  // A table of the registry's range owned by `uid` (the mapping stays usable after the chown).
  PortTable& make_table(uid_t uid, PortRange range = kHostRange) {
    TableSpec spec;
    spec.name = account_table_name();
    spec.range = range;
    spec.socket_path = "/nonexistent/portsafed.sock";
    TableOpen opened = PortTable::open_or_create(spec);
    EXPECT_TRUE(opened.table) << opened.message;
    names_.push_back(spec.name);
    if (uid != 0) {
      EXPECT_EQ(::chown(PortTable::shm_path(spec.name).c_str(), uid, uid), 0);
    }
    tables_.push_back(std::move(opened.table));
    return *tables_.back();
  }
  std::unique_ptr<HostRegistry> open_view() {
    RegistryOpen opened = HostRegistry::open(dir_);
    EXPECT_TRUE(opened.registry) << opened.reason;
    return std::move(opened.registry);
  }
  // An account's side, with the daemon's socket at `socket` (default: none, so leases are unreachable).
  std::unique_ptr<HostLeases> leases_for(const PortTable& table, uid_t uid, std::string socket = "") {
    return std::make_unique<HostLeases>(table, open_view(), uid,
                                        socket.empty() ? dir_ + "/no-daemon.sock" : std::move(socket));
  }
  static Claimant claimant() {
    Claimant who;
    who.process = read_own_identity();
    who.job_id = pack_identity(who.process);
    who.job_name = "host-test";
    return who;
  }
  uint16_t port_of(const PortTable& table, const SlotRef& ref) const {
    return static_cast<uint16_t>(table.range().low + ref.index % table.range().size());
  }

  std::string dir_;
  std::unique_ptr<HostRegistryWriter> writer_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<PortTable>> tables_;
};

}  // namespace portsafe::host::testing
