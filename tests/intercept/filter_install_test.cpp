// Installing the bind filter: a listener comes back (with the killable wait on 5.19+), a job whose
// listener is gone fails its binds with ENOSYS instead of hanging, and a process inside the job
// cannot add a listener of its own (the kernel allows one per filter chain) though plain filters
// still go in.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include <cstdio>

#include "intercept/bind_filter.hpp"
#include "intercept_fixture.hpp"

namespace portsafe::testing {
namespace {

bool kernel_at_least(int major, int minor) {
  utsname name{};
  ::uname(&name);
  int have_major = 0, have_minor = 0;
  std::sscanf(name.release, "%d.%d", &have_major, &have_minor);
  return have_major > major || (have_major == major && have_minor >= minor);
}

TEST_F(InterceptTest, TheChildGetsAListenerAndTheKillableWaitWhereTheKernelHasIt) {
  start_child([](int) { return 0; });
  EXPECT_TRUE(listener_.valid());
  EXPECT_EQ(killable_, kernel_at_least(5, 19));
  EXPECT_EQ(wait_child(), 0);
}

TEST_F(InterceptTest, ABindWaitingWhenTheListenerClosesFailsWithEnosys) {
  start_child([](int control) {
    const BindOutcome bound = raw_bind(AF_INET, SOCK_STREAM, 0);
    send_int(control, bound.error);
    return 0;
  });
  pollfd waiting{listener_.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&waiting, 1, 10'000), 1);  // the child's bind is waiting for an answer
  listener_.reset();                           // the handler is gone without answering
  const auto error = receive_int(control_.get());
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, ENOSYS);
  EXPECT_EQ(wait_child(), 0);
}

TEST_F(InterceptTest, LaterBindsAfterTheListenerClosedFailWithEnosys) {
  start_child([](int control) {
    if (!receive_int(control)) return 1;
    send_int(control, raw_bind(AF_INET6, SOCK_DGRAM, 0).error);
    return 0;
  });
  listener_.reset();
  send_int(control_.get(), 1);
  const auto error = receive_int(control_.get());
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, ENOSYS);
}

// What a runc/podman/sandbox inside the job meets: its own listener is refused with EBUSY in any
// process of the job (the filter chain is inherited), while a filter without a listener works.
TEST_F(InterceptTest, AProcessInsideTheJobGetsEbusyForItsOwnListenerButPlainFiltersWork) {
  start_child([](int control) {
    const pid_t grandchild = ::fork();
    if (grandchild == 0) {
      const intercept::FilterInstall second = intercept::install_bind_filter(true);
      if (second.listener >= 0 || second.error != EBUSY) ::_exit(1);
      sock_filter allow[] = {{BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW}};
      sock_fprog program{1, allow};
      ::_exit(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0 ? 0 : 2);
    }
    int status = 0;
    ::waitpid(grandchild, &status, 0);
    send_int(control, WIFEXITED(status) ? WEXITSTATUS(status) : 99);
    return 0;
  });
  const auto result = receive_int(control_.get());
  ASSERT_TRUE(result);
  EXPECT_EQ(*result, 0) << "1: no EBUSY for a second listener, 2: a plain filter was refused";
  EXPECT_EQ(wait_child(), 0);
}

}  // namespace
}  // namespace portsafe::testing
