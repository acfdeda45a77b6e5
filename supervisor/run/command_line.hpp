// portsafe-run's command line (CLI11): options, then COMMAND after "--" (or after the first
// word that is not an option).
#pragma once

#include <optional>
#include <string>

#include "run/run_options.hpp"

namespace portsafe::run {

inline constexpr int kExitOwnFailure = 125;

struct ParsedCommandLine {
  std::optional<RunOptions> options;
  std::optional<int> exit_code;  // set when portsafe-run should exit now (help, version, error)
};

ParsedCommandLine parse_command_line(int argc, char** argv);

}  // namespace portsafe::run
