#include "status_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "host_view.hpp"
#include "intercept/intercept_mode.hpp"
#include "portsafe/log.hpp"
#include "portsafe/virtual_label.hpp"
#include "process_info.hpp"

namespace portsafe::admin {
namespace {

struct Row {
  uint16_t port;
  std::string proto, state, job, command, age, label;
  std::optional<uint16_t> virtual_port;  // a port held in place of this one (--virtual)
  std::string intercept;  // the job's interception: seccomp, preload, or "" (its leader is gone)
  uint64_t job_id;
  uint32_t pid;
  int64_t age_ms;
};

// Held ports belong to the supervisor's process, but the job leader is who a user asks about.
uint32_t interesting_pid(const SlotView& view) {
  if (view.state == SlotState::held || view.state == SlotState::linger) {
    const uint32_t leader = unpack_identity(view.job_id).pid;
    if (leader != 0) return leader;
  }
  return view.pid;
}

std::vector<Row> collect_rows(const PortTable& table) {
  const int64_t now = monotonic_ms();
  std::vector<Row> rows;
  for (const SlotView& view : table.list()) {
    Row row;
    row.port = view.port;
    row.proto = protocol_name(view.proto);
    row.state = slot_state_name(view.state);
    row.job = view.job_name;
    row.job_id = view.job_id;
    row.pid = interesting_pid(view);
    row.command = read_command_line(row.pid);
    row.age_ms = std::max<int64_t>(0, now - view.since_ms);
    row.age = format_age(row.age_ms);
    row.label = view.label;
    row.virtual_port = parse_virtual_label(row.label);
    row.intercept = intercept::interception_of_process(unpack_identity(view.job_id).pid);
    rows.push_back(std::move(row));
  }
  return rows;
}

// Ports the supervisor holds outside the table's range (privileged ports, say) are in no table
// slot: only the supervisor can tell about them, when it runs.
void add_untracked_holds(const AdminContext& context, const PortTable& table, std::vector<Row>& rows) {
  auto client = connect_running_supervisor(context);
  if (!client) return;
  const auto status = client->status();
  if (!status.ok()) return;
  for (const auto& e : status.value->entries) {
    if (table.range().contains(e.port)) continue;
    Row row;
    row.port = e.port;
    row.proto = protocol_name(e.proto);
    row.state = slot_state_name(e.state);
    row.job = e.job_name;
    row.job_id = e.job_id;
    row.pid = unpack_identity(e.job_id).pid != 0 ? unpack_identity(e.job_id).pid : e.pid;
    row.command = read_command_line(row.pid);
    row.age_ms = static_cast<int64_t>(e.age_ms);
    row.age = format_age(row.age_ms);
    row.label = e.label;
    row.virtual_port = parse_virtual_label(row.label);
    rows.push_back(std::move(row));
  }
}

void sort_rows(std::vector<Row>& rows) {
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.port, a.proto) < std::tie(b.port, b.proto);
  });
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// Other accounts' use of the range, as far as an account may know it: counts (the registry every
// account reads). Their jobs, commands and tables stay theirs.
std::string other_accounts_text(const HostView& host) {
  if (!host.active) {
    return host.opted_out ? "host-wide coordination: not for this table (custom range)" : "host-wide coordination: off";
  }
  return fmt::format("host-wide coordination: this table leases {} block(s) of {} ports; other accounts: {} "
                     "account(s), {} block(s) ({} ports)",
                     host.own_blocks, host.block_size, host.other_accounts, host.other_blocks,
                     uint64_t{host.other_blocks} * host.block_size);
}

// In --json the counts are one more element of the array, with the keys every element has (port
// 0, empty job and command) and state "other-accounts", so readers of port entries are unaffected.
std::string other_accounts_json(const HostView& host) {
  return fmt::format(
      "{{\"port\": 0, \"proto\": \"\", \"state\": \"other-accounts\", \"job\": \"\", \"job_id\": 0, \"pid\": 0, "
      "\"command\": \"\", \"age_seconds\": 0, \"label\": {}, \"intercept\": \"\", \"virtual_port\": null, \"accounts\": {}, \"blocks\": {}, "
      "\"ports\": {}, \"own_blocks\": {}, \"block_size\": {}}}",
      json_string(other_accounts_text(host)), host.other_accounts, host.other_blocks,
      uint64_t{host.other_blocks} * host.block_size, host.own_blocks, host.block_size);
}

void print_json(const std::vector<Row>& rows, const HostView& host) {
  std::string out = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out += fmt::format(
        "{}\n  {{\"port\": {}, \"proto\": {}, \"state\": {}, \"job\": {}, \"job_id\": {}, \"pid\": {}, "
        "\"command\": {}, \"age_seconds\": {}, \"label\": {}, \"intercept\": {}, \"virtual_port\": {}}}",
        i == 0 ? "" : ",", r.port, json_string(r.proto), json_string(r.state), json_string(r.job), r.job_id, r.pid,
        json_string(r.command), r.age_ms / 1000, json_string(r.label), json_string(r.intercept),
        r.virtual_port ? std::to_string(*r.virtual_port) : std::string("null"));
  }
  if (host.active) out += fmt::format("{}\n  {}", rows.empty() ? "" : ",", other_accounts_json(host));
  out += rows.empty() && !host.active ? "]\n" : "\n]\n";
  std::fputs(out.c_str(), stdout);
}

// The NAME column: a held port's name, or "8080 -> 23456 (job X)" for a port held in place of a
// virtual one.
std::string name_column(const Row& r) {
  if (r.virtual_port) return fmt::format("{} -> {} (job {})", *r.virtual_port, r.port, r.job);
  return r.label.empty() ? "-" : r.label;
}

void print_table(const std::vector<Row>& rows, const PortTable& table, const HostView& host) {
  size_t job_width = 3;
  for (const Row& r : rows) job_width = std::max(job_width, r.job.size());
  std::string out = fmt::format("{:>5}  {:<5} {:<8} {:<{}}  {:>7}  {:>6}  {:<16} {}\n", "PORT", "PROTO", "STATE", "JOB",
                                job_width, "PID", "AGE", "NAME", "COMMAND");
  for (const Row& r : rows) {
    out += fmt::format("{:>5}  {:<5} {:<8} {:<{}}  {:>7}  {:>6}  {:<16} {}\n", r.port, r.proto, r.state, r.job,
                       job_width, r.pid, r.age, name_column(r), r.command.empty() ? "-" : r.command);
  }
  const TableCounters c = table.counters();
  // One summary line (scripts read the rows above it): counters, then what pressure the range saw,
  // then host-wide coordination (other accounts as counts only), then each live job's
  // interception (seccomp reaches every binary, preload only dynamic ones).
  out += fmt::format(
      "{} port(s) claimed in {} (table {}); picks {}, fallbacks {}, full-range events {}, reaped {}; peak in use {} of "
      "{} ports, lingers given way {} ({} younger than {} ms)",
      rows.size(), format_range(table.range()), table.name(), c.picks, c.fallbacks, c.full_range_events, c.reaped,
      c.peak_in_use, table.range().size(), c.lingers_given_way + c.young_lingers_given_way, c.young_lingers_given_way,
      kMinLingerAgeMs);
  if (c.full_range_events > 0) {
    out += fmt::format("; range full: job '{}' needed at least {} ports (widen PORTSAFE_RANGE)", c.ports_needed_job,
                       c.ports_needed);
  }
  out += "; " + other_accounts_text(host);
  std::map<std::string, std::string> jobs;
  for (const Row& r : rows) {
    if (!r.intercept.empty() && !r.job.empty()) jobs.emplace(r.job, r.intercept);
  }
  std::string separator = "; interception: ";
  for (const auto& [job, intercept] : jobs) {
    out += fmt::format("{}{} {}", separator, job, intercept);
    separator = ", ";
  }
  out += "\n";
  std::fputs(out.c_str(), stdout);
}

}  // namespace

int run_status(const AdminContext& context, bool json) {
  if (context.root.empty()) {
    log_error("{}", context.root_error);
    return kExitFailure;
  }
  TableOpen opened = open_context_table(context);
  if (opened.error == TableError::missing) {
    if (json) {
      std::fputs("[]\n", stdout);
    } else {
      std::fputs(fmt::format("no port table yet for {}: nothing is claimed\n", context.root).c_str(), stdout);
    }
    return kExitOk;
  }
  if (!opened.table) {
    log_error("{}", opened.message);
    return kExitFailure;
  }
  auto rows = collect_rows(*opened.table);
  add_untracked_holds(context, *opened.table, rows);
  sort_rows(rows);
  const HostView host = inspect_host(opened.table->range(), opened.table->name(), root_owner(context));
  if (json) {
    print_json(rows, host);
  } else {
    print_table(rows, *opened.table, host);
  }
  return kExitOk;
}

}  // namespace portsafe::admin
