#include "held_port_lookup.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "portsafe/environment.hpp"
#include "portsafe/log.hpp"
#include "portsafe/runtime_root.hpp"
#include "portsafe/table_access.hpp"

namespace portsafe::docker_proxy {
namespace {

constexpr std::string_view kTablePrefix = "portsafe-";

// Only names table_name() makes: "portsafe-" + 16 lowercase hex digits (never a scratch name).
bool is_table_name(std::string_view name) {
  if (name.substr(0, kTablePrefix.size()) != kTablePrefix) return false;
  const std::string_view hash = name.substr(kTablePrefix.size());
  return hash.size() == 16 && std::all_of(hash.begin(), hash.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::vector<std::string> list_shm_tables() {
  std::vector<std::string> names;
  DIR* dir = ::opendir("/dev/shm");
  if (dir == nullptr) return names;
  while (const dirent* entry = ::readdir(dir)) {
    if (is_table_name(entry->d_name)) names.emplace_back(entry->d_name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

std::string namespace_link(const std::string& pid) {
  char target[64] = {};
  const std::string path = "/proc/" + pid + "/ns/net";
  const ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
}

// The supervisor of a table serves the network namespace it runs in: its pid is in the lock
// file next to its socket. A root made by resolve_runtime_root() also ends in "net-<inode>".
bool table_in_this_namespace(const PortTable& table, const std::string& tag) {
  const std::string socket_path = table.socket_path();
  if (socket_path.find("/" + tag + "/") != std::string::npos) return true;
  const std::string root = socket_path.substr(0, socket_path.rfind('/'));
  std::ifstream lock(supervisor_lock_path(root));
  std::string pid;
  if (!(lock >> pid) || pid.find_first_not_of("0123456789") != std::string::npos) return false;
  const std::string theirs = namespace_link(pid);
  return !theirs.empty() && theirs == namespace_link("self");
}

}  // namespace

std::string port_name_of_label(const std::string& label) {
  if (label.rfind("-> ", 0) == 0) return "";
  const auto arrow = label.find(" -> ");
  return arrow == std::string::npos ? label : label.substr(0, arrow);
}

HeldPortLease::~HeldPortLease() {
  if (annotated_ && client_) client_->annotate(wire::Annotate{proto_, port_, name_});
}

void HeldPortLease::annotate(const std::string& target) {
  if (!client_) return;
  std::string label = "-> " + target;
  if (!name_.empty() && name_.size() + 1 + label.size() < kNameBytes) label = name_ + " " + label;
  const auto result = client_->annotate(wire::Annotate{proto_, port_, label});
  if (result.ok()) {
    annotated_ = true;
  } else {
    log_debug("cannot label {}/{} in the table: {}", port_, protocol_name(proto_), result.error.message);
  }
}

std::vector<std::string> candidate_table_names() {
  if (const char* root = std::getenv(env::kRuntimeDir); root != nullptr && *root != '\0') {
    return {table_name(root)};
  }
  std::vector<std::string> names = list_shm_tables();
  return names;
}

HeldLookup acquire_held_socket(Protocol proto, uint16_t port, const std::string& bind_address, bool listen) {
  HeldLookup lookup;
  if (port == 0) return lookup;
  const std::string tag = network_namespace_tag();
  // Open every candidate first so those of this namespace can be asked first.
  struct Candidate {
    std::unique_ptr<PortTable> table;
    std::string name;  // the held port's label: the job's name for it
  };
  std::vector<Candidate> local, foreign;
  for (const std::string& name : candidate_table_names()) {
    // Trusted only when private and owned by its runtime root's owner: dockerd runs us as root,
    // and a table another user planted at a name must not steer us to their supervisor.
    TableOpen opened = inspect_table(name);
    if (!opened.table) {
      if (opened.error != TableError::missing) lookup.notes.push_back(opened.message);
      continue;
    }
    const auto view = opened.table->view(proto, port);
    if (!view || view->state != SlotState::held) continue;
    const bool here = table_in_this_namespace(*opened.table, tag);
    (here ? local : foreign).push_back(Candidate{std::move(opened.table), port_name_of_label(view->label)});
  }
  for (auto* group : {&local, &foreign}) {
    for (const Candidate& candidate : *group) {
      const std::string path = candidate.table->socket_path();
      auto client = SupervisorClient::connect_socket(path);
      if (!client.ok()) {
        lookup.notes.push_back(client.error.message);
        continue;
      }
      auto acquired = (*client.value)->acquire(wire::Acquire{proto, port, bind_address, listen});
      if (!acquired.ok()) {
        lookup.notes.push_back(fmt::format("the supervisor at {} would not hand over {}/{}: {}", path, port,
                                           protocol_name(proto), acquired.error.message));
        continue;
      }
      HeldSocket held;
      held.fd = std::move(acquired.value->fd);
      held.lease = std::make_unique<HeldPortLease>(std::move(*client.value), proto, port, candidate.name);
      held.socket_path = path;
      lookup.socket = std::move(held);
      return lookup;
    }
  }
  return lookup;
}

}  // namespace portsafe::docker_proxy
