#include "run/placeholders.hpp"

#include <fmt/format.h>

#include <cctype>
#include <functional>
#include <string_view>

#include "run/run_options.hpp"

namespace portsafe::run {
namespace {

bool is_placeholder_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_') return false;
  }
  return true;
}

// Calls on_name for each placeholder of text and appends the replacement it returns; text between
// placeholders is copied. Returns the rewritten text.
std::string rewrite(std::string_view text, const std::function<std::string(std::string_view)>& on_name) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    const auto open = text.find("{{", at);
    if (open == std::string_view::npos) break;
    const auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    const std::string_view name = text.substr(open + 2, close - open - 2);
    if (!is_placeholder_name(name)) {
      out.append(text.substr(at, open + 1 - at));  // not ours: keep one brace, look again after it
      at = open + 1;
      continue;
    }
    out.append(text.substr(at, open - at));
    out += on_name(name);
    at = close + 2;
  }
  out.append(text.substr(at));
  return out;
}

}  // namespace

Expansion expand_placeholders(const std::vector<std::string>& args, const PortsByKey& ports) {
  Expansion result;
  for (const std::string& arg : args) {
    result.args.push_back(rewrite(arg, [&](std::string_view name) -> std::string {
      const auto found = ports.find(port_env_key(name));
      if (found == ports.end()) {
        if (result.error.empty()) {
          result.error = fmt::format("{{{{{}}}}} in the command names no port; add --port {} (or --listen {})", name,
                                     name, name);
        }
        return std::string("{{") + std::string(name) + "}}";
      }
      return std::to_string(found->second);
    }));
  }
  return result;
}

std::vector<std::string> placeholder_names(const std::vector<std::string>& args) {
  std::vector<std::string> names;
  for (const std::string& arg : args) {
    rewrite(arg, [&](std::string_view name) {
      names.emplace_back(name);
      return std::string();
    });
  }
  return names;
}

}  // namespace portsafe::run
