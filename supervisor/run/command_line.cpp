#include "run/command_line.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <string_view>

#include "portsafe/log.hpp"
#include "run/job_name.hpp"
#include "run/virtual_options.hpp"

#ifndef PORTSAFE_VERSION
#define PORTSAFE_VERSION "unknown"
#endif

namespace portsafe::run {
namespace {

constexpr const char* kDescription =
    "portsafe-run [OPTIONS] -- COMMAND [ARGS...]\n\n"
    "Runs COMMAND as a portsafe job: the preload shim coordinates its port-0 binds with every other\n"
    "job on this host, and named ports are held for it by the supervisor (portsafed, started on\n"
    "demand) until portsafe-run exits.";

constexpr const char* kFooter =
    "\nCOMMAND's environment:\n"
    "  LD_PRELOAD               libportsafe.so first, then any inherited entries\n"
    "  PORTSAFE_JOB, PORTSAFE_JOB_ID, PORTSAFE_RUNTIME_DIR, PORTSAFE_RANGE (--range), PORTSAFE_LINGER (--linger)\n"
    "  PORTSAFE_INTERCEPT       seccomp or preload: the interception the job got (--intercept)\n"
    "  PORTSAFE_PORT_<NAME>     each --port/--listen/--handover port (NAME upper-cased, '-' -> '_')\n"
    "  PORTSAFE_REAL_PORT_<PORT>  the real port held for each --virtual PORT ({{PORT}} in COMMAND's arguments)\n"
    "  PORTSAFE_VIRTUAL         with --virtual in shim mode: 8080/tcp=23456,... for the shim\n"
    "  LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID   with --listen: sockets at fd 3, 4, ... (systemd style)\n"
    "In COMMAND's arguments {{NAME}} becomes the port reserved as NAME, e.g.\n"
    "  portsafe-run --port db -- docker run -p {{db}}:5432 postgres\n"
    "\n%JOBS%"
    "\nExit status: COMMAND's own; 128+N when it died of signal N; 125 when portsafe-run itself fails;\n"
    "126 when COMMAND cannot be executed; 127 when it is not found.\n"
    "More: docs/portsafe-run.md\n";

std::string footer() {
  std::string text = kFooter;
  text.replace(text.find("%JOBS%"), 6, job_name_help());
  return text;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

ParsedCommandLine parse_command_line(int argc, char** argv) {
  ParsedCommandLine parsed;
  RunOptions options;
  std::vector<std::string> port_texts, listen_texts, handover_texts, virtual_texts;
  std::string range_text, linger_text, intercept_text, virtual_mode_text;

  CLI::App app(kDescription, "portsafe-run");
  app.footer(footer());
  app.set_version_flag("--version", std::string("portsafe-run ") + PORTSAFE_VERSION);
  // Everything after "--" is COMMAND's. Without "--", COMMAND starts at the first word that is
  // not an option (as env and sudo allow); a word there that looks like an option is refused, so
  // a mistyped option never runs as a command.
  int our_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      our_argc = i;
      break;
    }
  }
  const bool has_separator = our_argc < argc;
  if (!has_separator) app.prefix_command();
  app.add_option("--port", port_texts, "Hold a port named NAME for the job (repeatable): PORTSAFE_PORT_<NAME> and {{NAME}}")
      ->type_name("NAME[/udp]")
      ->allow_extra_args(false);
  app.add_option("--listen", listen_texts,
                 "As --port, and pass the bound socket (listening, for TCP) to COMMAND by socket activation, "
                 "from fd 3 in --listen order")
      ->type_name("NAME[/udp]")
      ->allow_extra_args(false);
  app.add_option("--handover", handover_texts,
                 "As --port, for a consumer that takes the socket from the supervisor (portsafe-docker-proxy): "
                 "held listening (TCP) or not reusable (UDP) from the start, so nothing else can bind it, "
                 "not even with SO_REUSEADDR")
      ->type_name("NAME[/udp]")
      ->allow_extra_args(false);
  app.add_option("--virtual", virtual_texts,
                 "COMMAND keeps binding and connecting to PORT (hard-coded 8080, 6379, ...): its binds land on a real port "
                 "held for the job, its connects to a local address reach it (repeatable): PORTSAFE_REAL_PORT_<PORT> and "
                 "{{PORT}} give the real one")
      ->type_name("PORT[/udp]")
      ->allow_extra_args(false);
  app.add_option("--virtual-mode", virtual_mode_text,
                 "Who rewrites the virtual ports: auto (bpf when root, else shim), bpf (cgroup BPF programs: every "
                 "binary; root or CAP_BPF+CAP_NET_ADMIN), shim (the preload shim: dynamic programs only)")
      ->type_name("auto|bpf|shim");
  app.add_option("--job", options.job, "Job id shown by `portsafe status` (default: see below)")->type_name("ID");
  app.add_option("--range", range_text, "Ports the shim picks from for COMMAND (inside the table's range)")
      ->type_name("LOW-HIGH");
  app.add_option("--linger", linger_text, "Seconds a picked-then-closed port stays the job's (default 60)")
      ->type_name("SECONDS");
  app.add_option("--intercept", intercept_text,
                 "How binds are coordinated: auto (seccomp too when root/CAP_SYS_ADMIN or COMMAND is static or Go), "
                 "preload (the shim only), seccomp (the shim and a seccomp filter for every process of the job)")
      ->type_name("auto|preload|seccomp");
  app.add_flag("--print", options.print, "Print the reservations, one NAME=PORT line each, to stderr before running");
  app.add_flag("-q,--quiet", options.quiet, "Print nothing but errors");
  app.add_flag("-v,--verbose", options.verbose, "Say what portsafe-run does");

  try {
    app.parse(our_argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    parsed.exit_code = 0;
    return parsed;
  } catch (const CLI::CallForVersion&) {
    fmt::print("portsafe-run {}\n", PORTSAFE_VERSION);
    parsed.exit_code = 0;
    return parsed;
  } catch (const CLI::ExtrasError&) {
    const std::string first = app.remaining().empty() ? std::string("?") : app.remaining().front();
    log_error("{}: unknown option; see portsafe-run --help", first);
    parsed.exit_code = kExitOwnFailure;
    return parsed;
  } catch (const CLI::ParseError& error) {
    log_error("{}; see portsafe-run --help", first_line(error.what()));
    parsed.exit_code = kExitOwnFailure;
    return parsed;
  }

  const auto fail = [&](const std::string& message) {
    log_error("{}", message);
    parsed.exit_code = kExitOwnFailure;
    return parsed;
  };
  for (const bool listen : {false, true}) {
    for (const std::string& text : listen ? listen_texts : port_texts) {
      auto spec = parse_port_spec(text, listen);
      if (!spec.ok()) return fail(spec.error);
      options.ports.push_back(std::move(*spec.value));
    }
  }
  for (const std::string& text : handover_texts) {
    auto spec = parse_port_spec(text, false, true);
    if (!spec.ok()) return fail(spec.error);
    options.ports.push_back(std::move(*spec.value));
  }
  if (auto duplicate = find_duplicate_name(options.ports)) return fail(*duplicate);
  for (const std::string& text : virtual_texts) {
    auto spec = parse_virtual_spec(text);
    if (!spec.ok()) return fail(spec.error);
    options.ports.push_back(std::move(*spec.value));
  }
  if (auto problem = check_virtual_ports(options.ports)) return fail(*problem);
  if (app.count("--virtual-mode") > 0) {
    const auto mode = parse_virtual_mode(virtual_mode_text);
    if (!mode) return fail(fmt::format("--virtual-mode {}: choose auto, bpf or shim", virtual_mode_text));
    options.virtual_mode = *mode;
    options.virtual_mode_given = true;
  }
  if (app.count("--job") > 0) {
    if (auto problem = check_job_name(options.job)) return fail(*problem);
  }
  if (!range_text.empty() || app.count("--range") > 0) {
    const RangeParse range = parse_port_range(range_text);
    if (!range.ok) return fail(fmt::format("--range {}: {}", range_text, range.error));
    options.range = range.range;
    options.range_origin = "--range " + range_text;
  }
  if (app.count("--linger") > 0) {
    auto linger = parse_linger(linger_text);
    if (!linger.ok()) return fail(linger.error);
    options.linger_seconds = *linger.value;
  }
  if (app.count("--intercept") > 0) {
    const auto mode = intercept::parse_intercept_mode(intercept_text);
    if (!mode) return fail(fmt::format("--intercept {}: choose auto, preload or seccomp", intercept_text));
    options.intercept = *mode;
  }
  if (options.quiet && options.verbose) return fail("--quiet and --verbose contradict each other; give one");

  if (has_separator) {
    options.command.assign(argv + our_argc + 1, argv + argc);
  } else {
    options.command = app.remaining();
    if (!options.command.empty() && options.command.front().starts_with("-")) {
      return fail(fmt::format("{}: unknown option; see portsafe-run --help (COMMAND goes after --)",
                              options.command.front()));
    }
  }
  if (options.command.empty()) return fail("no COMMAND given; usage: portsafe-run [OPTIONS] -- COMMAND [ARGS...]");
  parsed.options = std::move(options);
  return parsed;
}

}  // namespace portsafe::run
