// A given-port reservation that took over the job's own linger and then cannot bind its
// placeholder gives the linger back to the job instead of freeing the port.
#include "keeper_fixture.hpp"

namespace portsafe::supervisor {
namespace {

TEST_F(PortKeeperRehold, ALingerTakenOverIsGivenBackWhenThePlaceholderCannotBind) {
  const uint16_t port = kLow + 6;
  // The job's own process bound the port and closed it unused: it lingers for the job.
  Claimant binder;
  binder.process = read_own_identity();
  binder.job_id = job().id;
  binder.job_name = "ci";
  const PortClaim bound = table_->claim_port(Protocol::tcp, port, binder);
  ASSERT_EQ(bound.result, ClaimResult::claimed);
  ASSERT_TRUE(table_->release(bound.ref, binder.process, monotonic_ms()));
  ASSERT_EQ(state_of(Protocol::tcp, port), SlotState::linger);
  // A listening socket outside portsafe makes the placeholder's bind fail.
  const int outsider = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ASSERT_EQ(::bind(outsider, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(outsider, 1), 0);
  PortKeeper keeper(*table_, read_own_identity());
  const auto result = keeper.reserve(7, job(), {{"web", Protocol::tcp, port}});
  ::close(outsider);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->code, wire::ErrorCode::port_in_use);
  EXPECT_EQ(state_of(Protocol::tcp, port), SlotState::linger);
}

}  // namespace
}  // namespace portsafe::supervisor
