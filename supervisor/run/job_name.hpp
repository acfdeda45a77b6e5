// The job's display name when --job is not given: CI systems already name their jobs, so
// `portsafe status` shows "github:test/1234/1" instead of a pid.
#pragma once

#include <functional>
#include <string>

namespace portsafe::run {

using EnvLookup = std::function<const char*(const char*)>;

// GitHub Actions (GITHUB_ACTIONS=true): "GITHUB_JOB/GITHUB_RUN_ID/GITHUB_RUN_ATTEMPT"
// GitLab CI (GITLAB_CI set):          "CI_JOB_NAME/CI_JOB_ID"
// Jenkins (JENKINS_URL set):          "JOB_NAME/BUILD_NUMBER"
// Buildkite (BUILDKITE=true):         "BUILDKITE_LABEL/BUILDKITE_JOB_ID"
// else                                "run-<pid>"
// Missing variables are skipped; a CI system whose variables are all missing falls through.
std::string default_job_name(const EnvLookup& lookup, int pid);

// The same from the real environment.
std::string default_job_name_from_environment(int pid);

// The --help text that documents the variables above.
const char* job_name_help();

}  // namespace portsafe::run
