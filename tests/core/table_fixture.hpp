// A private table per test: a unique shm name, removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <string>

#include "portsafe/port_table.hpp"

namespace portsafe::testing {

// Unique on the host, not just in this process: /dev/shm is shared by every test, and each test
// runs in a PID namespace of its own (tests/lib/in_netns.sh), where parallel tests have equal pids.
inline std::string unique_table_name() {
  static std::atomic<int> counter{0};
  static const unsigned nonce = std::random_device{}();
  return "portsafe-test-" + std::to_string(::getpid()) + "-" + std::to_string(nonce) + "-" + std::to_string(counter++);
}

inline TableSpec small_spec(PortRange range = {20000, 20015}) {
  TableSpec spec;
  spec.name = unique_table_name();
  spec.range = range;
  spec.socket_path = "/tmp/portsafe-test.sock";
  return spec;
}

class TableTest : public ::testing::Test {
 protected:
  void SetUp() override { open(small_spec()); }
  void TearDown() override {
    table_.reset();
    PortTable::remove(spec_.name);
  }
  void open(const TableSpec& spec) {
    if (table_) {
      table_.reset();
      PortTable::remove(spec_.name);
    }
    spec_ = spec;
    auto opened = PortTable::open_or_create(spec_);
    ASSERT_TRUE(opened.table) << opened.message;
    table_ = std::move(opened.table);
  }
  Claimant me(uint64_t job = 0) const {
    Claimant who;
    who.process = read_own_identity();
    who.job_id = job != 0 ? job : pack_identity(who.process);
    who.job_name = "test-job";
    who.linger_ms = 60'000;
    return who;
  }
  TableSpec spec_;
  std::unique_ptr<PortTable> table_;
};

}  // namespace portsafe::testing
