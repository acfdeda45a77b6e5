// Range parsing and the default range below the kernel's ephemeral range.
#include "portsafe/port_range.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace portsafe {
namespace {

TEST(PortRange, ParsesLowDashHigh) {
  const auto parsed = parse_port_range("20000-29999");
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.range, (PortRange{20000, 29999}));
  EXPECT_EQ(parsed.range.size(), 10000u);
  EXPECT_TRUE(parse_port_range("1024-1024").ok);
  EXPECT_TRUE(parse_port_range("65535-65535").ok);
}

TEST(PortRange, RefusesBadRangesWithAValidExample) {
  for (const char* bad : {"", "20000", "-", "20000-", "-20000", "a-b", "30000-20000", "80-90", "1000-2000",
                          "20000-70000", "20000-29999x", " 20000-29999", "20000--29999", "123456-123457"}) {
    const auto parsed = parse_port_range(bad);
    EXPECT_FALSE(parsed.ok) << bad;
    EXPECT_NE(parsed.error.find("LOW-HIGH"), std::string::npos) << parsed.error;
  }
}

TEST(PortRange, DefaultLiesRightBelowTheEphemeralRange) {
  const auto range = default_port_range(PortRange{32768, 60999});
  ASSERT_TRUE(range.ok);
  EXPECT_EQ(range.range.high, 32767);
  // Every port down to the floor: a busy CI host needs more than a fixed 12,288.
  EXPECT_EQ(range.range.low, kDefaultRangeFloor);
}

TEST(PortRange, DefaultIsSizedFromTheEphemeralRangeAndCapped) {
  const auto high_ephemeral = default_port_range(PortRange{49152, 65535});
  ASSERT_TRUE(high_ephemeral.ok);
  EXPECT_EQ(high_ephemeral.range, (PortRange{49152 - kMaxDefaultRangeSize, 49151}));
  // Little room above the floor: the range reaches below it, as large as the old default.
  const auto low_ephemeral = default_port_range(PortRange{15000, 60999});
  ASSERT_TRUE(low_ephemeral.ok);
  EXPECT_EQ(low_ephemeral.range, (PortRange{15000 - kDefaultRangeSize, 14999}));
}

TEST(PortRange, DefaultShrinksWhenLittleRoomIsLeft) {
  const auto range = default_port_range(PortRange{5000, 60999});
  ASSERT_TRUE(range.ok);
  EXPECT_EQ(range.range, (PortRange{1024, 4999}));
  const auto none = default_port_range(PortRange{1100, 60999});
  EXPECT_FALSE(none.ok);
  EXPECT_NE(none.error.find("PORTSAFE_RANGE"), std::string::npos);
}

TEST(PortRange, PortsInUseAreReadFromProcNet) {
  // Two listeners (0A), a connection (01) and a bound UDP socket (07); headers and junk skipped.
  const char* tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 1\n"
      "   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2\n"
      "   2: 0100007F:9C40 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 3\n"
      "garbage\n";
  EXPECT_EQ(parse_proc_net_ports(tcp, "0A"), (std::vector<uint16_t>{5432, 8080}));
  const char* udp =
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
      "  101: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   104        0 4 2 0 0\n";
  EXPECT_EQ(parse_proc_net_ports(udp, "07 01"), (std::vector<uint16_t>{5353}));
}

TEST(PortRange, EnvironmentOverridesAndBadValuesSayWhichVariable) {
  setenv("PORTSAFE_RANGE", "40000-40099", 1);
  auto parsed = resolve_port_range();
  EXPECT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.range, (PortRange{40000, 40099}));
  setenv("PORTSAFE_RANGE", "nonsense", 1);
  parsed = resolve_port_range();
  EXPECT_FALSE(parsed.ok);
  EXPECT_EQ(parsed.error.rfind("PORTSAFE_RANGE: ", 0), 0u) << parsed.error;
  unsetenv("PORTSAFE_RANGE");
}

TEST(PortRange, ParsesReservedPortLists) {
  const auto list = parse_port_list("8080,9000-9010, 20001\n");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0], (PortRange{8080, 8080}));
  EXPECT_EQ(list[1], (PortRange{9000, 9010}));
  EXPECT_EQ(list[2], (PortRange{20001, 20001}));
  EXPECT_TRUE(parse_port_list("").empty());
  EXPECT_TRUE(parse_port_list("x,9-1,70000").empty());
}

TEST(PortRange, ReadsTheKernelsEphemeralRange) {
  const PortRange ephemeral = read_ephemeral_range();
  EXPECT_LE(ephemeral.low, ephemeral.high);
  EXPECT_GT(ephemeral.low, 0);
}

}  // namespace
}  // namespace portsafe
