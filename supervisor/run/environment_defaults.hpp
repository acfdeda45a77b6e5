// portsafe-run checks the portsafe variables it inherits before anything starts, so bad input is
// refused the same way (125, one line) whether or not a supervisor is already running: without
// this, a running supervisor never re-read PORTSAFE_RANGE and every process of the job warned
// about it instead.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "run/run_options.hpp"

namespace portsafe::run {

using EnvironmentLookup = std::function<const char*(const char*)>;

// PORTSAFE_RANGE and PORTSAFE_LINGER become the job's range and linger unless --range/--linger
// were given (the options win). Returns the one-line reason when a value is unusable.
std::optional<std::string> apply_environment_defaults(RunOptions& options, const EnvironmentLookup& lookup);

}  // namespace portsafe::run
