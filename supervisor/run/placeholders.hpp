// {{NAME}} in COMMAND's arguments becomes the port reserved as NAME. Double braces are left
// alone by sh, bash, zsh and dash (brace expansion needs a comma or "..", and {{db}} has
// neither), so the user can write them unquoted. Only {{...}} whose inside is a valid port name
// ([A-Za-z0-9_-]+) is a placeholder: Go templates such as '{{.Names}}' or '{{ json . }}' pass
// through untouched. Names match as in the environment (db, DB and Db are the same port).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace portsafe::run {

// Port numbers by environment key (port_env_key(name)).
using PortsByKey = std::map<std::string, uint16_t>;

struct Expansion {
  std::vector<std::string> args;
  std::string error;  // set when a placeholder names no reserved port
  bool ok() const { return error.empty(); }
};

// Replaces every {{NAME}} in args; an unknown NAME is an error naming the fix.
Expansion expand_placeholders(const std::vector<std::string>& args, const PortsByKey& ports);

// The placeholder names used in args (to refuse unknown ones before reserving anything).
std::vector<std::string> placeholder_names(const std::vector<std::string>& args);

}  // namespace portsafe::run
