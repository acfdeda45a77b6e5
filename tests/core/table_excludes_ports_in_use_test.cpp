// The default range is made from the machine (issue 13): a table made with exclude_ports_in_use
// leaves out the ports services listen on at that moment, so no pick hands them out and a given
// bind of one passes through to the kernel (claim result `excluded`).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "table_fixture.hpp"

namespace portsafe::testing {
namespace {

TEST_F(TableTest, PortsListenedOnWhenTheTableIsMadeAreExcluded) {
  const int service = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(service, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(20005);
  ASSERT_EQ(::bind(service, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(service, 1), 0);
  TableSpec spec = small_spec();
  spec.exclude_ports_in_use = true;
  open(spec);
  ::close(service);
  EXPECT_EQ(table_->view(Protocol::tcp, 20005)->state, SlotState::excluded);
  EXPECT_EQ(table_->claim_port(Protocol::tcp, 20005, me()).result, ClaimResult::excluded);
  for (int i = 0; i < 15; ++i) {
    const PickResult picked = table_->pick(Protocol::tcp, table_->range(), me());
    ASSERT_TRUE(picked.ref.valid());
    EXPECT_NE(picked.ref.index, 5u) << "the service's port was picked";
  }
  EXPECT_FALSE(table_->pick(Protocol::tcp, table_->range(), me()).ref.valid());
}

TEST_F(TableTest, WithoutTheOptionAListenedPortStaysInTheTable) {
  const int service = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(20006);
  ASSERT_EQ(::bind(service, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(service, 1), 0);
  open(small_spec());
  ::close(service);
  EXPECT_EQ(table_->view(Protocol::tcp, 20006)->state, SlotState::free);
}

}  // namespace
}  // namespace portsafe::testing
