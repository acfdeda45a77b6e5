#include "intercept_fixture.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>

#include "intercept/bind_filter.hpp"
#include "intercept/listener_transfer.hpp"
#include "table_fixture.hpp"  // unique_table_name: unique on the host, not per pid

namespace portsafe::testing {
BindOutcome raw_bind(int family, int type, uint16_t port, socklen_t length) {
  return bind_loopback(family, type, port, length, [](int fd, const sockaddr* addr, socklen_t size) {
    return static_cast<int>(::syscall(SYS_bind, fd, addr, size));
  });
}

BindOutcome bind_loopback(int family, int type, uint16_t port, socklen_t length, BindCall bind_call) {
  BindOutcome out;
  out.fd = ::socket(family, type, 0);
  sockaddr_storage address{};
  if (family == AF_INET) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(address);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (length == 0) length = sizeof v4;
  } else {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    v6.sin6_addr = in6addr_loopback;
    if (length == 0) length = sizeof v6;
  }
  if (bind_call(out.fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    out.error = errno;
    return out;
  }
  socklen_t size = sizeof address;
  ::getsockname(out.fd, reinterpret_cast<sockaddr*>(&address), &size);
  out.port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in&>(address).sin_port
                                     : reinterpret_cast<sockaddr_in6&>(address).sin6_port);
  return out;
}

bool send_int(int fd, int value) { return ::send(fd, &value, sizeof value, MSG_NOSIGNAL) == sizeof value; }

std::optional<int> receive_int(int fd) {
  int value = 0;
  if (::recv(fd, &value, sizeof value, MSG_WAITALL) != sizeof value) return std::nullopt;
  return value;
}

void InterceptTest::SetUp() {
  spec_.name = unique_table_name();
  spec_.range = PortRange{20000, 20015};
  spec_.socket_path = "/tmp/portsafe-itest.sock";
  auto opened = PortTable::open_or_create(spec_);
  ASSERT_TRUE(opened.table) << opened.message;
  table_ = std::move(opened.table);
}

void InterceptTest::TearDown() {
  handler_.reset();
  listener_.reset();
  if (child_ > 0) {
    ::kill(child_, SIGKILL);
    ::waitpid(child_, nullptr, 0);
  }
  table_.reset();
  PortTable::remove(spec_.name);
}

void InterceptTest::start_child(const std::function<int(int control)>& body, bool killable) {
  int channel[2], control[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, control), 0);
  child_ = ::fork();
  ASSERT_GE(child_, 0);
  if (child_ == 0) {
    ::close(channel[0]);
    ::close(control[0]);
    const intercept::FilterInstall install = intercept::install_bind_filter(true, killable);
    intercept::send_listener(channel[1], install);
    if (install.listener < 0) ::_exit(90);
    ::close(install.listener);
    ::_exit(body(control[1]));
  }
  ::close(channel[1]);
  ::close(control[1]);
  control_ = UniqueFd(control[0]);
  // A child stuck in a bind nobody answers must fail the test, not hang it.
  const timeval patience{10, 0};
  ::setsockopt(control_.get(), SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  intercept::ReceivedListener received = intercept::receive_listener(channel[0]);
  ::close(channel[0]);
  ASSERT_TRUE(received.received);
  ASSERT_TRUE(received.listener) << std::strerror(received.error);
  listener_ = std::move(received.listener);
  killable_ = received.killable;
}

intercept::BindHandler& InterceptTest::handler() {
  if (!handler_) {
    intercept::HandlerSettings settings;
    settings.job_range = spec_.range;
    settings.owner = read_own_identity();
    settings.job_id = pack_identity(settings.owner);
    settings.job_name = "itest-job";
    settings.linger_ms = 60'000;
    settings.before_answer = before_answer_;
    handler_ = std::make_unique<intercept::BindHandler>(std::move(listener_), *table_, settings);
  }
  return *handler_;
}

int InterceptTest::wait_child() {
  // A regression that leaves the child in a notified bind nobody answers must fail this test
  // with a reason, not hang it until ctest's timeout: wait on a pidfd with a bound.
  constexpr int kPatienceMs = 30'000;
  const UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child_, 0u)));
  if (pidfd) {
    pollfd exited{pidfd.get(), POLLIN, 0};
    int ready = 0;
    do {
      ready = ::poll(&exited, 1, kPatienceMs);
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
      child_ = -1;
      ADD_FAILURE() << "the child did not exit within " << kPatienceMs / 1000
                    << " s (stuck in a bind nobody answered?): killed it";
      return -1;
    }
  }
  int status = 0;
  if (::waitpid(child_, &status, 0) != child_) return -1;
  child_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Claimant InterceptTest::me() const {
  Claimant who;
  who.process = read_own_identity();
  who.job_id = pack_identity(who.process);
  who.job_name = "itest-job";
  return who;
}

}  // namespace portsafe::testing
