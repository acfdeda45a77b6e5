#include "run/child_environment.hpp"

#include <fmt/format.h>

#include <cstring>
#include <string_view>

#include "portsafe/environment.hpp"
#include "portsafe/install_layout.hpp"
#include "run/run_options.hpp"

namespace portsafe::run {
namespace {

constexpr std::string_view kListenPid = "LISTEN_PID=";

std::string_view key_of(std::string_view entry) { return entry.substr(0, entry.find('=')); }

bool is_shim(std::string_view item) {
  const auto slash = item.rfind('/');
  return item.substr(slash == std::string_view::npos ? 0 : slash + 1) == kShimFileName;
}

}  // namespace

std::string prepend_preload(const char* existing, const std::string& shim_path) {
  std::string out = shim_path;
  std::string_view rest = existing != nullptr ? existing : "";
  // ld.so separates LD_PRELOAD entries by spaces or colons.
  while (!rest.empty()) {
    const auto cut = rest.find_first_of(": ");
    const std::string_view item = rest.substr(0, cut);
    rest = cut == std::string_view::npos ? std::string_view{} : rest.substr(cut + 1);
    if (item.empty() || item == shim_path || is_shim(item)) continue;
    out += ':';
    out += item;
  }
  return out;
}

ChildEnvironment build_child_environment(const std::vector<std::string>& base, const ChildSettings& settings) {
  std::vector<std::pair<std::string, std::string>> ours;
  const char* inherited_preload = nullptr;
  for (const std::string& entry : base) {
    if (key_of(entry) == "LD_PRELOAD") inherited_preload = entry.c_str() + std::strlen("LD_PRELOAD=");
  }
  ours.emplace_back("LD_PRELOAD", prepend_preload(inherited_preload, settings.shim_path));
  ours.emplace_back(env::kJob, settings.job_name);
  ours.emplace_back(env::kJobId, settings.job_id);
  ours.emplace_back(env::kRuntimeDir, settings.runtime_dir);
  if (settings.range) ours.emplace_back(env::kRange, format_range(*settings.range));
  if (settings.linger_seconds) ours.emplace_back(env::kLinger, std::to_string(*settings.linger_seconds));
  if (!settings.intercept.empty()) ours.emplace_back(env::kIntercept, settings.intercept);
  for (const ExportedPort& port : settings.ports) {
    ours.emplace_back(std::string(env::kPortPrefix) + port_env_key(port.name), std::to_string(port.port));
  }
  for (const ExportedPort& port : settings.real_ports) {
    ours.emplace_back(std::string(env::kRealPortPrefix) + port.name, std::to_string(port.port));
  }
  if (settings.virtual_set && !settings.virtual_map.empty()) ours.emplace_back(env::kVirtual, settings.virtual_map);
  if (!settings.virtual_kernel_map.empty()) ours.emplace_back(env::kVirtualKernel, settings.virtual_kernel_map);

  ChildEnvironment out;
  for (const std::string& entry : base) {
    const std::string_view key = key_of(entry);
    if (key == "LISTEN_PID" || key == "LISTEN_FDS" || key == "LISTEN_FDNAMES") continue;
    if (settings.virtual_set && key == env::kVirtual) continue;
    bool replaced = false;
    for (const auto& [name, value] : ours) replaced = replaced || key == name;
    if (!replaced) out.entries.push_back(entry);
  }
  for (const auto& [name, value] : ours) out.entries.push_back(name + "=" + value);

  if (!settings.listen_names.empty()) {
    std::string names;
    for (const std::string& name : settings.listen_names) names += (names.empty() ? "" : ":") + name;
    out.entries.push_back(fmt::format("LISTEN_FDS={}", settings.listen_names.size()));
    out.entries.push_back("LISTEN_FDNAMES=" + names);
    out.listen_pid_index = out.entries.size();
    out.entries.push_back(std::string(kListenPid) + std::string(kListenPidDigits, '\0'));
  }
  return out;
}

void fill_listen_pid(char* entry, long pid) noexcept {
  char digits[kListenPidDigits];
  size_t n = 0;
  unsigned long value = pid > 0 ? static_cast<unsigned long>(pid) : 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0 && n < kListenPidDigits - 1);
  char* out = entry + kListenPid.size();
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
}

}  // namespace portsafe::run
