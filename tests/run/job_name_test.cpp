// The default job id comes from the CI system's variables, else run-<pid>.
#include "run/job_name.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

using portsafe::run::default_job_name;

namespace {

std::string name_with(std::map<std::string, std::string> vars) {
  return default_job_name(
      [&](const char* key) -> const char* {
        const auto found = vars.find(key);
        return found == vars.end() ? nullptr : found->second.c_str();
      },
      4242);
}

TEST(RunDefaultJobName, GitHubActions) {
  EXPECT_EQ(name_with({{"GITHUB_ACTIONS", "true"}, {"GITHUB_JOB", "test"}, {"GITHUB_RUN_ID", "99"}, {"GITHUB_RUN_ATTEMPT", "2"}}),
            "github:test/99/2");
  // GITHUB_ACTIONS must say true.
  EXPECT_EQ(name_with({{"GITHUB_ACTIONS", "false"}, {"GITHUB_JOB", "test"}}), "run-4242");
}

TEST(RunDefaultJobName, GitLabJenkinsBuildkite) {
  EXPECT_EQ(name_with({{"GITLAB_CI", "true"}, {"CI_JOB_NAME", "unit"}, {"CI_JOB_ID", "7"}}), "gitlab:unit/7");
  EXPECT_EQ(name_with({{"JENKINS_URL", "http://ci/"}, {"JOB_NAME", "nightly"}, {"BUILD_NUMBER", "31"}}),
            "jenkins:nightly/31");
  EXPECT_EQ(name_with({{"BUILDKITE", "true"}, {"BUILDKITE_LABEL", ":test:"}, {"BUILDKITE_JOB_ID", "ab-1"}}),
            "buildkite::test:/ab-1");
}

TEST(RunDefaultJobName, MissingVariablesAreSkippedOrFallThrough) {
  EXPECT_EQ(name_with({{"GITLAB_CI", "true"}, {"CI_JOB_ID", "7"}}), "gitlab:7");
  EXPECT_EQ(name_with({{"GITLAB_CI", "true"}}), "run-4242");
  EXPECT_EQ(name_with({}), "run-4242");
}

}  // namespace
