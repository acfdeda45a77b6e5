// {{NAME}} in COMMAND's arguments: replaced by the port; unknown names refused; other braces kept.
#include "run/placeholders.hpp"

#include <gtest/gtest.h>

using portsafe::run::expand_placeholders;
using portsafe::run::placeholder_names;

namespace {

const portsafe::run::PortsByKey kPorts{{"DB", 20001}, {"WEB_UI", 20002}};

TEST(RunPlaceholders, ReplacedAnywhereInAnArgument) {
  const auto out = expand_placeholders({"docker", "-p", "{{db}}:5432", "--url=http://h:{{web-ui}}/x{{DB}}"}, kPorts);
  ASSERT_TRUE(out.ok()) << out.error;
  EXPECT_EQ(out.args, (std::vector<std::string>{"docker", "-p", "20001:5432", "--url=http://h:20002/x20001"}));
}

TEST(RunPlaceholders, UnknownNameIsAnError) {
  const auto out = expand_placeholders({"x", "{{cache}}"}, kPorts);
  EXPECT_FALSE(out.ok());
  EXPECT_NE(out.error.find("--port cache"), std::string::npos) << out.error;
}

TEST(RunPlaceholders, OtherBracesPassThrough) {
  const std::vector<std::string> args{"{{.Names}}", "{{ json . }}", "{db}", "{{", "}}", "{{}}", "${{x y}}"};
  const auto out = expand_placeholders(args, kPorts);
  ASSERT_TRUE(out.ok()) << out.error;
  EXPECT_EQ(out.args, args);
  EXPECT_TRUE(placeholder_names(args).empty());
}

TEST(RunPlaceholders, NamesAreListed) {
  EXPECT_EQ(placeholder_names({"{{a}}-{{b}}", "c"}), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
