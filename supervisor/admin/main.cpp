// portsafe: the admin command. `status` shows who holds which port, `gc` reclaims what dead
// processes left, `doctor` checks the setup and whether a program can be protected.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "admin_context.hpp"
#include "doctor_command.hpp"
#include "gc_command.hpp"
#include "portsafe/environment.hpp"
#include "portsafe/log.hpp"
#include "status_command.hpp"

namespace {

// The first argument that is neither an option nor an option's value: the command word.
std::string first_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--runtime-dir") {
      ++i;
      continue;
    }
    if (!arg.empty() && arg[0] != '-') return arg;
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace portsafe;
  set_log_identity("portsafe");
  set_log_level(parse_log_level(std::getenv(env::kLog)));

  CLI::App app{"portsafe: inspect and repair portsafe's port table.\n"
               "Exit codes: 0 ok, 1 failure (the message says why), 2 usage error."};
  app.require_subcommand(1);
  std::string runtime_dir;
  app.add_option("--runtime-dir", runtime_dir, "runtime root (default: PORTSAFE_RUNTIME_DIR, else the per-user one)");

  bool json = false;
  auto* status = app.add_subcommand("status", "list claimed ports: port, proto, state, job, pid, command, age");
  status->add_flag("--json", json, "print a JSON array of objects (port, proto, state, job, job_id, pid, ...)");

  bool reset = false;
  auto* gc = app.add_subcommand("gc", "reclaim ports left by dead processes and expired lingers");
  gc->add_flag("--reset", reset, "remove the table itself (recovery from a corrupt table; no job may be running)");

  std::vector<std::string> command;
  auto* doctor = app.add_subcommand("doctor", "check range, table, supervisor and runtime directory");
  doctor->add_option("command", command, "-- COMMAND [ARGS]: can the shim reach this program?");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports a misspelt command as "a subcommand is required": name the word instead.
    if (const std::string word = first_word(argc, argv); !word.empty() && word != "status" && word != "gc" && word != "doctor") {
      log_error("unknown command '{}': use status, gc or doctor (see portsafe --help)", word);
      return admin::kExitUsage;
    }
    app.exit(e);
    return admin::kExitUsage;
  }
  const admin::AdminContext context = admin::resolve_context(runtime_dir);
  if (status->parsed()) return admin::run_status(context, json);
  if (gc->parsed()) return admin::run_gc(context, reset);
  return admin::run_doctor(context, command);
}
