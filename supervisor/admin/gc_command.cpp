#include "gc_command.hpp"

#include <fmt/format.h>

#include <cstdio>

#include "portsafe/log.hpp"

namespace portsafe::admin {
namespace {

int reset_table(const AdminContext& context) {
  if (auto client = connect_running_supervisor(context)) {
    const auto pong = client->ping();
    log_error("the supervisor (pid {}) is using the table; stop it first (kill {}) and run `portsafe gc --reset` again",
              pong.ok() ? pong.value->pid : 0, pong.ok() ? pong.value->pid : 0);
    return kExitFailure;
  }
  if (!PortTable::remove(context.table_name)) {
    std::fputs(fmt::format("no port table {} to remove\n", PortTable::shm_path(context.table_name)).c_str(), stdout);
    return kExitOk;
  }
  std::fputs(fmt::format("removed port table {}; the next portsafe program creates a fresh one\n",
                         PortTable::shm_path(context.table_name))
                 .c_str(),
             stdout);
  return kExitOk;
}

}  // namespace

int run_gc(const AdminContext& context, bool reset) {
  if (context.root.empty()) {
    log_error("{}", context.root_error);
    return kExitFailure;
  }
  if (reset) return reset_table(context);
  if (auto client = connect_running_supervisor(context)) {
    const auto reply = client->gc();
    if (reply.ok()) {
      std::fputs(fmt::format("reaped {} slot(s) (through the supervisor)\n", reply.value->reaped).c_str(), stdout);
      return kExitOk;
    }
    log_warn("the supervisor did not answer gc ({}); reaping the table directly", reply.error.message);
  }
  TableOpen opened = open_context_table(context);
  if (opened.error == TableError::missing) {
    std::fputs("no port table yet: nothing to reap\n", stdout);
    return kExitOk;
  }
  if (!opened.table) {
    log_error("{}", opened.message);
    return kExitFailure;
  }
  const size_t reaped = opened.table->reap(monotonic_ms());
  std::fputs(fmt::format("reaped {} slot(s)\n", reaped).c_str(), stdout);
  return kExitOk;
}

}  // namespace portsafe::admin
