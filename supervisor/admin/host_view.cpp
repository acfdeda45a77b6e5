#include "host_view.hpp"

#include "portsafe/host_client.hpp"
#include "portsafe/host_registry.hpp"

namespace portsafe::admin {

HostView inspect_host(const PortRange& range, const std::string& table_name, uid_t owner) {
  HostView view;
  view.dir = host_dir();
  view.registry_path = host_registry_path(view.dir);
  RegistryOpen opened = HostRegistry::open_for_range(view.dir, range);
  if (!opened.registry) {
    view.reason = opened.reason;
    view.opted_out = opened.error == RegistryError::range_mismatch;
    return view;
  }
  const HostRegistry& registry = *opened.registry;
  view.active = true;
  view.range = registry.range();
  view.block_size = registry.block_size();
  view.block_count = registry.block_count();
  view.free_blocks = registry.free_blocks();
  uint32_t indices[kMaxBlocks];
  uint64_t words[kMaxBlocks];
  view.own_blocks = registry.blocks_of(owner, table_name.c_str(), indices, words, kMaxBlocks);
  for (const AccountBlocks& account : registry.counts()) {
    if (account.uid == owner) {
      view.account_blocks = account.blocks;
    } else if (account.blocks > 0) {
      ++view.other_accounts;
      view.other_blocks += account.blocks;
    }
  }
  // Any query proves the daemon serves; the answer itself (about the range's first port) is not used.
  const HostReply reply = HostClient(host_socket_path(view.dir).c_str()).query(Protocol::tcp, registry.range().low);
  view.daemon_answers = reply.answer != HostAnswer::unreachable;
  return view;
}

}  // namespace portsafe::admin
