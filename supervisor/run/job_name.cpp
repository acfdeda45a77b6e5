#include "run/job_name.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <initializer_list>
#include <string_view>

namespace portsafe::run {
namespace {

bool is_set(const char* value) { return value != nullptr && *value != '\0'; }

// "prefix:" + the set variables joined by '/', or empty when none is set.
std::string join_set(const EnvLookup& lookup, std::string_view prefix, std::initializer_list<const char*> names) {
  std::string out;
  for (const char* name : names) {
    const char* value = lookup(name);
    if (!is_set(value)) continue;
    out += out.empty() ? fmt::format("{}:", prefix) : "/";
    out += value;
  }
  return out;
}

}  // namespace

std::string default_job_name(const EnvLookup& lookup, int pid) {
  const auto flag = [&](const char* name) { return is_set(lookup(name)); };
  std::string name;
  if (const char* gh = lookup("GITHUB_ACTIONS"); gh != nullptr && std::string_view(gh) == "true") {
    name = join_set(lookup, "github", {"GITHUB_JOB", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"});
  }
  if (name.empty() && flag("GITLAB_CI")) name = join_set(lookup, "gitlab", {"CI_JOB_NAME", "CI_JOB_ID"});
  if (name.empty() && flag("JENKINS_URL")) name = join_set(lookup, "jenkins", {"JOB_NAME", "BUILD_NUMBER"});
  if (name.empty() && flag("BUILDKITE")) name = join_set(lookup, "buildkite", {"BUILDKITE_LABEL", "BUILDKITE_JOB_ID"});
  if (name.empty()) name = fmt::format("run-{}", pid);
  return name;
}

std::string default_job_name_from_environment(int pid) {
  return default_job_name([](const char* name) { return std::getenv(name); }, pid);
}

const char* job_name_help() {
  return "Job id (--job) defaults, first match wins:\n"
         "  GitHub Actions (GITHUB_ACTIONS=true)  github:$GITHUB_JOB/$GITHUB_RUN_ID/$GITHUB_RUN_ATTEMPT\n"
         "  GitLab CI (GITLAB_CI set)             gitlab:$CI_JOB_NAME/$CI_JOB_ID\n"
         "  Jenkins (JENKINS_URL set)             jenkins:$JOB_NAME/$BUILD_NUMBER\n"
         "  Buildkite (BUILDKITE set)             buildkite:$BUILDKITE_LABEL/$BUILDKITE_JOB_ID\n"
         "  inside another portsafe-run           the outer job ($PORTSAFE_JOB), which it joins\n"
         "  otherwise                             run-<pid>\n";
}

}  // namespace portsafe::run
