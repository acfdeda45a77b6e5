// COMMAND's environment: shim first in LD_PRELOAD (once), job variables replaced, ports exported,
// socket-activation variables only with --listen.
#include "run/child_environment.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

using namespace portsafe::run;

namespace {

std::vector<std::string> values_of(const ChildEnvironment& env, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& entry : env.entries) {
    if (entry.compare(0, key.size() + 1, key + "=") == 0) out.push_back(entry.substr(key.size() + 1));
  }
  return out;
}

ChildSettings sample_settings() {
  ChildSettings s;
  s.shim_path = "/opt/ps/lib/libportsafe.so";
  s.job_name = "unit";
  s.job_id = "123.456";
  s.runtime_dir = "/run/ps";
  s.ports = {{"db-main", 20001}, {"web", 20002}};
  return s;
}

TEST(RunPreload, ShimFirstAndNeverTwice) {
  EXPECT_EQ(prepend_preload(nullptr, "/p/lib/libportsafe.so"), "/p/lib/libportsafe.so");
  EXPECT_EQ(prepend_preload("libasan.so /other/lib/libportsafe.so:/p/lib/libportsafe.so::libx.so", "/p/lib/libportsafe.so"),
            "/p/lib/libportsafe.so:libasan.so:libx.so");
}

TEST(RunChildEnvironment, SetsJobVariablesAndReplacesInherited) {
  const auto env = build_child_environment(
      {"PATH=/bin", "PORTSAFE_JOB=old", "LD_PRELOAD=libfoo.so", "PORTSAFE_PORT_DB_MAIN=1", "LISTEN_FDS=3", "LISTEN_PID=1"},
      sample_settings());
  EXPECT_EQ(values_of(env, "PATH"), std::vector<std::string>{"/bin"});
  EXPECT_EQ(values_of(env, "LD_PRELOAD"), std::vector<std::string>{"/opt/ps/lib/libportsafe.so:libfoo.so"});
  EXPECT_EQ(values_of(env, "PORTSAFE_JOB"), std::vector<std::string>{"unit"});
  EXPECT_EQ(values_of(env, "PORTSAFE_JOB_ID"), std::vector<std::string>{"123.456"});
  EXPECT_EQ(values_of(env, "PORTSAFE_RUNTIME_DIR"), std::vector<std::string>{"/run/ps"});
  EXPECT_EQ(values_of(env, "PORTSAFE_PORT_DB_MAIN"), std::vector<std::string>{"20001"});
  EXPECT_EQ(values_of(env, "PORTSAFE_PORT_WEB"), std::vector<std::string>{"20002"});
  EXPECT_TRUE(values_of(env, "LISTEN_FDS").empty());
  EXPECT_TRUE(values_of(env, "LISTEN_PID").empty());
  EXPECT_TRUE(values_of(env, "PORTSAFE_RANGE").empty());
  EXPECT_FALSE(env.listen_pid_index);
}

TEST(RunChildEnvironment, RangeAndLingerOnlyWhenGiven) {
  auto settings = sample_settings();
  settings.range = portsafe::PortRange{20000, 20999};
  settings.linger_seconds = 5;
  const auto env = build_child_environment({"PORTSAFE_RANGE=1-2"}, settings);
  EXPECT_EQ(values_of(env, "PORTSAFE_RANGE"), std::vector<std::string>{"20000-20999"});
  EXPECT_EQ(values_of(env, "PORTSAFE_LINGER"), std::vector<std::string>{"5"});
}

TEST(RunChildEnvironment, SocketActivationVariables) {
  auto settings = sample_settings();
  settings.listen_names = {"web", "dns"};
  auto env = build_child_environment({}, settings);
  EXPECT_EQ(values_of(env, "LISTEN_FDS"), std::vector<std::string>{"2"});
  EXPECT_EQ(values_of(env, "LISTEN_FDNAMES"), std::vector<std::string>{"web:dns"});
  ASSERT_TRUE(env.listen_pid_index);
  std::string& entry = env.entries[*env.listen_pid_index];
  fill_listen_pid(entry.data(), 4194303);
  EXPECT_STREQ(entry.c_str(), "LISTEN_PID=4194303");
  fill_listen_pid(entry.data(), 7);
  EXPECT_STREQ(entry.c_str(), "LISTEN_PID=7");
}

}  // namespace

TEST(ChildEnvironment, VirtualPortsExportTheirRealPortAndTheShimTableOnlyWhenAsked) {
  ChildSettings s = sample_settings();
  s.real_ports = {{"8080", 23456}};
  s.virtual_set = true;
  s.virtual_map = "8080/tcp=23456";
  const auto shim_mode = build_child_environment({"PORTSAFE_VIRTUAL=9/tcp=9"}, s);
  EXPECT_EQ(values_of(shim_mode, "PORTSAFE_REAL_PORT_8080"), std::vector<std::string>{"23456"});
  EXPECT_EQ(values_of(shim_mode, "PORTSAFE_VIRTUAL"), std::vector<std::string>{"8080/tcp=23456"});

  s.virtual_map.clear();  // bpf mode: the shim must not rewrite too, not even from an inherited table
  const auto bpf_mode = build_child_environment({"PORTSAFE_VIRTUAL=9/tcp=9"}, s);
  EXPECT_TRUE(values_of(bpf_mode, "PORTSAFE_VIRTUAL").empty());
  EXPECT_EQ(values_of(bpf_mode, "PORTSAFE_REAL_PORT_8080"), std::vector<std::string>{"23456"});

  s.virtual_set = false;  // no --virtual: an outer job's table stays
  const auto plain = build_child_environment({"PORTSAFE_VIRTUAL=9/tcp=9"}, s);
  EXPECT_EQ(values_of(plain, "PORTSAFE_VIRTUAL"), std::vector<std::string>{"9/tcp=9"});
}
