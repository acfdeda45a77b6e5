// The port's name a proxy restores when it stops: read from the label, which another proxy of the
// same port (dockerd starts one for 0.0.0.0 and one for ::) may already have extended.
#include <gtest/gtest.h>

#include "held_port_lookup.hpp"

namespace portsafe::docker_proxy {
namespace {

TEST(PortNameOfLabel, PlainNameIsTheName) { EXPECT_EQ(port_name_of_label("web"), "web"); }

TEST(PortNameOfLabel, AnotherProxysTargetIsDropped) {
  EXPECT_EQ(port_name_of_label("web -> 172.17.0.2:80"), "web");
  EXPECT_EQ(port_name_of_label("db-main -> [fd00::2]:5432"), "db-main");
}

TEST(PortNameOfLabel, TargetWithoutNameIsUnnamed) { EXPECT_EQ(port_name_of_label("-> 172.17.0.2:80"), ""); }

TEST(PortNameOfLabel, EmptyStaysEmpty) { EXPECT_EQ(port_name_of_label(""), ""); }

}  // namespace
}  // namespace portsafe::docker_proxy
