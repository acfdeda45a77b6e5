// Finds the file a command name runs, the way execvp(3) does, so a tool can tell "not found"
// (127) from "found but not executable" (126) before it forks, and inspect the right file.
#pragma once

#include <string>

namespace portsafe::tools {

enum class LookupStatus { found, not_found, not_executable };

struct ProgramLookup {
  LookupStatus status = LookupStatus::not_found;
  std::string path;  // the file execvp would run (or the best candidate when not executable)
};

// A command with a '/' is taken as is; otherwise each directory of path_env (":"-separated, an
// empty entry meaning the current directory; "/bin:/usr/bin" when null, as glibc) is tried in
// order. A candidate that exists but cannot be executed (no x bit, a directory) is remembered
// and reported as not_executable when no later directory has an executable one.
ProgramLookup lookup_program(const std::string& command, const char* path_env);

}  // namespace portsafe::tools
