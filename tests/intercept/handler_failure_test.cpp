// A handler that cannot go on says so in one clear line and lets go of the listener (so the job's
// binds fail with ENOSYS rather than wait; filter_install_test checks that half).
#include <sys/eventfd.h>

#include "intercept/handler_thread.hpp"
#include "intercept_fixture.hpp"

namespace portsafe::testing {
namespace {

TEST_F(InterceptTest, AFailingHandlerStopsWithOneClearErrorLine) {
  // A descriptor that polls readable but is no seccomp listener: receiving fails (ENOTTY).
  UniqueFd not_a_listener(::eventfd(1, EFD_CLOEXEC));
  ASSERT_TRUE(not_a_listener);
  intercept::HandlerSettings settings;
  settings.job_range = spec_.range;
  settings.owner = read_own_identity();
  settings.job_id = pack_identity(settings.owner);
  settings.job_name = "itest-job";
  auto opened = PortTable::open_existing(spec_.name);
  ASSERT_TRUE(opened.table) << opened.message;
  ::testing::internal::CaptureStderr();
  {
    intercept::HandlerThread thread(std::move(opened.table), std::move(not_a_listener), settings);
    for (int i = 0; i < 1000 && !thread.finished(); ++i) ::usleep(10'000);  // it ends on its own
    EXPECT_TRUE(thread.finished());
  }
  const std::string output = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(output.find("the seccomp bind handler stopped"), std::string::npos) << output;
  EXPECT_NE(output.find("ENOSYS"), std::string::npos) << output;
  EXPECT_NE(output.find("--intercept preload"), std::string::npos) << output;
}

}  // namespace
}  // namespace portsafe::testing
