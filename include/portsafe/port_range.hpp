// The range portsafe chooses ports from. By default it lies just below the kernel's ephemeral
// range (ip_local_port_range), so the kernel never hands one of its ports to a port-0 bind or to
// connect()'s automatic choice.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portsafe {

struct PortRange {
  uint16_t low = 0;
  uint16_t high = 0;

  uint32_t size() const noexcept { return static_cast<uint32_t>(high) - low + 1; }
  bool contains(uint16_t port) const noexcept { return port >= low && port <= high; }
  bool contains(const PortRange& other) const noexcept { return other.low >= low && other.high <= high; }
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

// The default range takes every port from kDefaultRangeFloor up to the ephemeral range (at most
// kMaxDefaultRangeSize): a busy CI host runs hundreds of jobs at once, each with held ports, live
// servers and lingering picks (256 jobs x (8 held + 100 picks) = 27,648 ports). Below the floor
// lie the long-registered ports (1433, 2375, 3306, ...); the range goes below it only when less
// than kDefaultRangeSize ports are left above it. Ports in use when the table is made (a
// database's 5432) and reserved ports are excluded (read_ports_in_use, read_reserved_ports).
inline constexpr uint32_t kDefaultRangeSize = 12288;
inline constexpr uint32_t kMaxDefaultRangeSize = 32768;
inline constexpr uint16_t kDefaultRangeFloor = 4096;
inline constexpr uint16_t kLowestAllowedPort = 1024;

struct RangeParse {
  bool ok = false;
  PortRange range;
  std::string error;  // one line that says what a valid range looks like
};

// Parses "LOW-HIGH" (decimal, 1024 <= LOW <= HIGH <= 65535).
RangeParse parse_port_range(std::string_view text);

// The kernel's ephemeral range from /proc/sys/net/ipv4/ip_local_port_range (32768-60999 when
// unreadable).
PortRange read_ephemeral_range();

// Ports in /proc/sys/net/ipv4/ip_local_reserved_ports ("8080,9000-9010"); empty when unreadable.
std::vector<PortRange> read_reserved_ports();
std::vector<PortRange> parse_port_list(std::string_view text);

// Ports with a listening TCP socket or a bound UDP socket (/proc/net/{tcp,tcp6,udp,udp6}) in
// this network namespace, in `within`: the ports of the services a host runs.
std::vector<PortRange> read_ports_in_use(const PortRange& within);
// The local ports of a /proc/net/{tcp,udp} table's lines whose state is one of `states` (hex).
std::vector<uint16_t> parse_proc_net_ports(std::string_view text, std::string_view states);

// The default range: the ports right below the ephemeral range, down to kDefaultRangeFloor (see
// above). Reserved ports (ip_local_reserved_ports) in it are excluded by the table.
RangeParse default_port_range(const PortRange& ephemeral);

// PORTSAFE_RANGE when set (and valid), else the default.
RangeParse resolve_port_range();

std::string format_range(const PortRange& range);

}  // namespace portsafe
