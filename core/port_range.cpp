#include "portsafe/port_range.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <algorithm>
#include <cstdlib>

#include "portsafe/environment.hpp"

namespace portsafe {
namespace {

constexpr const char* kRangeHint = "use LOW-HIGH with 1024 <= LOW <= HIGH <= 65535, e.g. PORTSAFE_RANGE=20000-29999";

bool parse_number(std::string_view text, uint32_t& out) {
  if (text.empty() || text.size() > 5) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Plain read(2), not a stream: the shim calls this at every program start, and a stream would
// initialise the C++ locale machinery (tens of microseconds) just to read one line of /proc.
std::string read_small_file(const char* path) {
  std::string text;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got > 0) {
      text.append(buffer, static_cast<size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      break;
    }
  }
  ::syscall(SYS_close, fd);  // raw: inside libportsafe.so, ::close would be the shim's own wrapper
  return text;
}

}  // namespace

RangeParse parse_port_range(std::string_view text) {
  RangeParse result;
  const auto dash = text.find('-');
  uint32_t low = 0;
  uint32_t high = 0;
  if (dash == std::string_view::npos || !parse_number(text.substr(0, dash), low) ||
      !parse_number(text.substr(dash + 1), high)) {
    result.error = fmt::format("invalid port range '{}': {}", text, kRangeHint);
    return result;
  }
  if (low < kLowestAllowedPort || high > 65535 || low > high) {
    result.error = fmt::format("invalid port range '{}': {}", text, kRangeHint);
    return result;
  }
  result.ok = true;
  result.range = PortRange{static_cast<uint16_t>(low), static_cast<uint16_t>(high)};
  return result;
}

std::vector<PortRange> parse_port_list(std::string_view text) {
  std::vector<PortRange> ranges;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!item.empty() && (item.back() == '\n' || item.back() == ' ')) item.remove_suffix(1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.empty()) continue;
    const auto dash = item.find('-');
    uint32_t low = 0;
    uint32_t high = 0;
    if (dash == std::string_view::npos) {
      if (!parse_number(item, low) || low > 65535) continue;
      high = low;
    } else if (!parse_number(item.substr(0, dash), low) || !parse_number(item.substr(dash + 1), high) ||
               low > high || high > 65535) {
      continue;
    }
    ranges.push_back(PortRange{static_cast<uint16_t>(low), static_cast<uint16_t>(high)});
  }
  return ranges;
}

PortRange read_ephemeral_range() {
  // The file holds "LOW<tab>HIGH\n".
  const std::string text = read_small_file("/proc/sys/net/ipv4/ip_local_port_range");
  const std::string_view view(text);
  const auto first_end = view.find_first_of(" \t");
  const auto second_begin = first_end == std::string_view::npos ? first_end : view.find_first_not_of(" \t", first_end);
  const auto second_end = second_begin == std::string_view::npos ? second_begin : view.find_first_of(" \t\n", second_begin);
  uint32_t low = 0;
  uint32_t high = 0;
  if (second_begin == std::string_view::npos || !parse_number(view.substr(0, first_end), low) ||
      !parse_number(view.substr(second_begin, second_end - second_begin), high) || low == 0 || low > high ||
      high > 65535) {
    return PortRange{32768, 60999};
  }
  return PortRange{static_cast<uint16_t>(low), static_cast<uint16_t>(high)};
}

std::vector<PortRange> read_reserved_ports() {
  return parse_port_list(read_small_file("/proc/sys/net/ipv4/ip_local_reserved_ports"));
}

std::vector<uint16_t> parse_proc_net_ports(std::string_view text, std::string_view states) {
  // "  sl  local_address rem_address   st ...": local_address is ADDR:PORT in hex, st in hex.
  std::vector<uint16_t> ports;
  for (size_t begin = text.find('\n'); begin != std::string_view::npos && begin + 1 < text.size();) {
    const size_t end = text.find('\n', begin + 1);
    const std::string_view line = text.substr(begin + 1, end == std::string_view::npos ? end : end - begin - 1);
    begin = end;
    std::string_view fields[4];
    size_t at = 0;
    for (std::string_view& field : fields) {
      at = line.find_first_not_of(' ', at);
      if (at == std::string_view::npos) break;
      const size_t stop = line.find(' ', at);
      field = line.substr(at, stop == std::string_view::npos ? line.size() - at : stop - at);
      at = stop;
    }
    const size_t colon = fields[1].rfind(':');
    if (colon == std::string_view::npos || fields[3].size() != 2 || states.find(fields[3]) == std::string_view::npos) {
      continue;
    }
    uint32_t port = 0;
    const std::string_view hex = fields[1].substr(colon + 1);
    const auto [end_ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), port, 16);
    if (ec == std::errc() && end_ptr == hex.data() + hex.size() && port > 0 && port <= 65535) {
      ports.push_back(static_cast<uint16_t>(port));
    }
  }
  return ports;
}

std::vector<PortRange> read_ports_in_use(const PortRange& within) {
  std::vector<PortRange> in_use;
  // TCP: LISTEN (0A); UDP: every bound socket (07, unconnected; 01, connected).
  const std::pair<const char*, std::string_view> tables[] = {
      {"/proc/net/tcp", "0A"}, {"/proc/net/tcp6", "0A"}, {"/proc/net/udp", "07 01"}, {"/proc/net/udp6", "07 01"}};
  for (const auto& [path, states] : tables) {
    for (const uint16_t port : parse_proc_net_ports(read_small_file(path), states)) {
      if (within.contains(port)) in_use.push_back(PortRange{port, port});
    }
  }
  return in_use;
}

RangeParse default_port_range(const PortRange& ephemeral) {
  RangeParse result;
  if (ephemeral.low <= kLowestAllowedPort + 256) {
    result.error = fmt::format(
        "the kernel's ephemeral range {} leaves no room below it for portsafe: set PORTSAFE_RANGE=LOW-HIGH "
        "outside it, or raise net.ipv4.ip_local_port_range",
        format_range(ephemeral));
    return result;
  }
  const uint32_t high = ephemeral.low - 1u;
  const uint32_t above_floor = high >= kDefaultRangeFloor ? high - kDefaultRangeFloor + 1 : 0;
  uint32_t size = std::min(above_floor, kMaxDefaultRangeSize);
  if (size < kDefaultRangeSize) size = std::min(high - kLowestAllowedPort + 1, kDefaultRangeSize);
  result.ok = true;
  result.range = PortRange{static_cast<uint16_t>(high - size + 1), static_cast<uint16_t>(high)};
  return result;
}

RangeParse resolve_port_range() {
  if (const char* text = std::getenv(env::kRange); text != nullptr && *text != '\0') {
    auto parsed = parse_port_range(text);
    if (!parsed.ok) parsed.error = fmt::format("{}: {}", env::kRange, parsed.error);
    return parsed;
  }
  return default_port_range(read_ephemeral_range());
}

std::string format_range(const PortRange& range) { return fmt::format("{}-{}", range.low, range.high); }

}  // namespace portsafe
