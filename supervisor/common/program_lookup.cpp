#include "common/program_lookup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <string_view>

namespace portsafe::tools {
namespace {

// Classifies one candidate path: executable regular file, something there we cannot run, nothing.
LookupStatus check_candidate(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return LookupStatus::not_found;
  if (!S_ISREG(st.st_mode)) return LookupStatus::not_executable;
  return ::access(path.c_str(), X_OK) == 0 ? LookupStatus::found : LookupStatus::not_executable;
}

}  // namespace

ProgramLookup lookup_program(const std::string& command, const char* path_env) {
  if (command.empty()) return {LookupStatus::not_found, command};
  if (command.find('/') != std::string::npos) return {check_candidate(command), command};

  std::string_view dirs = path_env != nullptr ? path_env : "/bin:/usr/bin";
  ProgramLookup unusable{LookupStatus::not_found, {}};
  while (true) {
    const auto colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    std::string candidate = dir.empty() ? command : std::string(dir) + "/" + command;
    const LookupStatus status = check_candidate(candidate);
    if (status == LookupStatus::found) return {status, std::move(candidate)};
    if (status == LookupStatus::not_executable && unusable.status == LookupStatus::not_found) {
      unusable = {status, std::move(candidate)};
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  if (unusable.status == LookupStatus::not_found) unusable.path = command;
  return unusable;
}

}  // namespace portsafe::tools
