// Every request of the wire protocol against the real portsafed, and the error each misuse gets.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "portsafe/process_identity.hpp"
#include "supervisor_fixture.hpp"

namespace portsafe::testing {
namespace {

using wire::ErrorCode;

class Requests : public SupervisorTest {};

TEST_F(Requests, PingAnswersWithPidAndVersion) {
  start_supervisor();
  const auto pong = client()->ping();
  ASSERT_TRUE(pong.ok()) << pong.error.message;
  EXPECT_EQ(pong.value->pid, static_cast<uint32_t>(pid_));
  EXPECT_EQ(pong.value->protocol_version, wire::kVersion);
  EXPECT_FALSE(pong.value->version.empty());
}

TEST_F(Requests, OpenJobLedByThePeer) {
  start_supervisor();
  auto c = client();
  const auto opened = c->open_job("ci-42", 0);
  ASSERT_TRUE(opened.ok()) << opened.error.message;
  EXPECT_EQ(opened.value->job_id, pack_identity(read_own_identity()));
  EXPECT_EQ(opened.value->job_name, "ci-42");
  EXPECT_EQ(opened.value->range, (PortRange{21000, 21099}));
  // Twice on one connection is a mistake the client hears about.
  EXPECT_EQ(c->open_job("again", 0).error.code, ErrorCode::bad_payload);
}

TEST_F(Requests, OpenJobJoinsALiveJobAndRefusesADeadOne) {
  start_supervisor();
  const uint64_t mine = pack_identity(read_own_identity());
  auto leader = job_client("outer");
  const auto joined = client()->open_job("", mine);
  ASSERT_TRUE(joined.ok()) << joined.error.message;
  EXPECT_EQ(joined.value->job_id, mine);
  EXPECT_EQ(joined.value->job_name, "outer");
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  const auto dead = read_process_identity(child);
  ::waitpid(child, nullptr, 0);
  const uint64_t gone = pack_identity(dead.value_or(ProcessIdentity{static_cast<uint32_t>(child), 1}));
  EXPECT_EQ(client()->open_job("late", gone).error.code, ErrorCode::no_job);
}

TEST_F(Requests, ReserveNeedsAJob) {
  start_supervisor();
  EXPECT_EQ(client()->reserve({{"web", Protocol::tcp, 0}}).error.code, ErrorCode::no_job);
  EXPECT_EQ(client()->release(Protocol::tcp, 21000).error.code, ErrorCode::no_job);
}

TEST_F(Requests, ReserveHoldsDistinctPortsAgainstPlainBinds) {
  start_supervisor();
  auto c = job_client("ci");
  const auto reserved = c->reserve({{"web", Protocol::tcp, 0}, {"db", Protocol::tcp, 0}, {"dns", Protocol::udp, 0}});
  ASSERT_TRUE(reserved.ok()) << reserved.error.message;
  const auto& ports = reserved.value->ports;
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_NE(ports[0].port, ports[1].port);
  auto t = table();
  for (const auto& p : ports) {
    EXPECT_TRUE(t->range().contains(p.port));
    EXPECT_EQ(plain_bind_error(p.proto, p.port), EADDRINUSE) << p.name;
    const auto view = t->view(p.proto, p.port);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->state, SlotState::held);
    EXPECT_STREQ(view->label, p.name.c_str());
    EXPECT_STREQ(view->job_name, "ci");
  }
}

TEST_F(Requests, ReserveAGivenPortAndRefuseItToAnotherJob) {
  start_supervisor();
  auto first = job_client("first");
  const auto reserved = first->reserve({{"web", Protocol::tcp, 21007}});
  ASSERT_TRUE(reserved.ok()) << reserved.error.message;
  EXPECT_EQ(reserved.value->ports[0].port, 21007);
  auto second = job_client("second");
  const auto refused = second->reserve({{"web", Protocol::tcp, 21007}});
  EXPECT_EQ(refused.error.code, ErrorCode::port_in_use);
  EXPECT_NE(refused.error.message.find("first"), std::string::npos) << refused.error.message;
}

TEST_F(Requests, ReserveIsAllOrNothing) {
  start_supervisor();
  auto first = job_client("first");
  ASSERT_TRUE(first->reserve({{"db", Protocol::tcp, 21008}}).ok());
  auto second = job_client("second");
  const auto refused = second->reserve({{"web", Protocol::tcp, 21009}, {"db", Protocol::tcp, 21008}});
  EXPECT_EQ(refused.error.code, ErrorCode::port_in_use);
  EXPECT_EQ(plain_bind_error(Protocol::tcp, 21009), 0) << "the first port of a failed reservation stayed held";
  EXPECT_EQ(table()->view(Protocol::tcp, 21009)->state, SlotState::free);
}

TEST_F(Requests, ReserveRefusesDuplicateNames) {
  start_supervisor();
  auto c = job_client("ci");
  EXPECT_EQ(c->reserve({{"web", Protocol::tcp, 0}, {"web", Protocol::tcp, 0}}).error.code, ErrorCode::bad_payload);
}

TEST_F(Requests, ReserveSkipsPortsUsedOutsidePortsafeAndReportsAFullRange) {
  start_supervisor("21000-21001");
  // A program without the shim listens on 21000: the kernel refuses the placeholder there.
  UniqueFd outsider(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(21000);
  ASSERT_EQ(::bind(outsider.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(outsider.get(), 1), 0);
  auto c = job_client("ci");
  EXPECT_EQ(c->reserve({{"given", Protocol::tcp, 21000}}).error.code, ErrorCode::port_in_use);
  const auto reserved = c->reserve({{"web", Protocol::tcp, 0}});
  ASSERT_TRUE(reserved.ok()) << reserved.error.message;
  EXPECT_EQ(reserved.value->ports[0].port, 21001);
  const auto full = c->reserve({{"more", Protocol::tcp, 0}});
  EXPECT_EQ(full.error.code, ErrorCode::range_full);
  EXPECT_EQ(table()->view(Protocol::tcp, 21000)->state, SlotState::free) << "a refused pick stayed claimed";
}

TEST_F(Requests, AcquireHandsOverAListeningSocketAndKeepsThePortHeld) {
  start_supervisor();
  auto c = job_client("ci");
  const auto reserved = c->reserve({{"web", Protocol::tcp, 0}});
  ASSERT_TRUE(reserved.ok());
  const uint16_t port = reserved.value->ports[0].port;
  auto acquired = client()->acquire(wire::Acquire{Protocol::tcp, port, "127.0.0.1", true});
  ASSERT_TRUE(acquired.ok()) << acquired.error.message;
  const int fd = acquired.value->fd.get();
  EXPECT_EQ(local_port(fd), port);
  int listening = 0;
  socklen_t length = sizeof listening;
  ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length);
  EXPECT_EQ(listening, 1);
  UniqueFd peer(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(peer.get(), reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  acquired.value->fd.reset();  // the consumer exits
  EXPECT_EQ(plain_bind_error(Protocol::tcp, port), EADDRINUSE);
  // And it can come back for the same port.
  EXPECT_TRUE(client()->acquire(wire::Acquire{Protocol::tcp, port, "", true}).ok());
}

// A consumer that binds with SO_REUSEADDR and listens, as a thief could between two consumers.
int reuse_listen_error(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int on = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return errno;
  return ::listen(fd.get(), 1) == 0 ? 0 : errno;
}

TEST_F(Requests, HandedOverListenerStaysListeningBetweenConsumers) {
  start_supervisor();
  auto c = job_client("ci");
  const auto reserved = c->reserve({{"web", Protocol::tcp, 0}});
  ASSERT_TRUE(reserved.ok());
  const uint16_t port = reserved.value->ports[0].port;
  EXPECT_EQ(reuse_listen_error(port), 0);  // before any handover the kernel lets such a bind in
  auto first = client()->acquire(wire::Acquire{Protocol::tcp, port, "", true});
  ASSERT_TRUE(first.ok()) << first.error.message;
  first.value->fd.reset();  // the consumer exits (a proxy's restart)
  EXPECT_EQ(reuse_listen_error(port), EADDRINUSE);
  UniqueFd waiting(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(waiting.get(), reinterpret_cast<sockaddr*>(&to), sizeof to), 0);  // in the backlog
  auto second = client()->acquire(wire::Acquire{Protocol::tcp, port, "", true});
  ASSERT_TRUE(second.ok()) << second.error.message;
  UniqueFd accepted(::accept4(second.value->fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_TRUE(accepted) << "the connection made between consumers was not kept for the next one";
}

TEST_F(Requests, AcquireUdpHandsOverThePlaceholderWithoutStaleDatagrams) {
  start_supervisor();
  auto c = job_client("ci");
  const auto reserved = c->reserve({{"dns", Protocol::udp, 0}});
  ASSERT_TRUE(reserved.ok());
  const uint16_t port = reserved.value->ports[0].port;
  UniqueFd sender(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::sendto(sender.get(), "stale", 5, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 5);
  auto acquired = client()->acquire(wire::Acquire{Protocol::udp, port, "", false});
  ASSERT_TRUE(acquired.ok()) << acquired.error.message;
  EXPECT_EQ(local_port(acquired.value->fd.get()), port);
  ASSERT_EQ(::sendto(sender.get(), "fresh", 5, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 5);
  pollfd p{acquired.value->fd.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  char buffer[16] = {};
  ASSERT_EQ(::recv(acquired.value->fd.get(), buffer, sizeof buffer, 0), 5);
  EXPECT_STREQ(buffer, "fresh");
}

TEST_F(Requests, AcquireErrors) {
  start_supervisor();
  EXPECT_EQ(client()->acquire(wire::Acquire{Protocol::tcp, 21003, "", true}).error.code, ErrorCode::not_held);
  auto c = job_client("ci");
  ASSERT_TRUE(c->reserve({{"web", Protocol::tcp, 21004}}).ok());
  EXPECT_EQ(client()->acquire(wire::Acquire{Protocol::tcp, 21004, "not-an-address", true}).error.code,
            ErrorCode::bad_payload);
  // 192.0.2.1 (TEST-NET) is on no interface here: the kernel refuses, the reply says why.
  EXPECT_EQ(client()->acquire(wire::Acquire{Protocol::tcp, 21004, "192.0.2.1", true}).error.code,
            ErrorCode::bind_failed);
}

TEST_F(Requests, ReleaseFreesOnlyTheJobsOwnPort) {
  start_supervisor();
  auto owner = job_client("owner");
  ASSERT_TRUE(owner->reserve({{"web", Protocol::tcp, 21005}}).ok());
  // Another job: one led by another live process (the supervisor will do).
  auto other = job_client("other", pack_identity(*read_process_identity(pid_)));
  EXPECT_EQ(other->release(Protocol::tcp, 21005).error.code, ErrorCode::not_held);
  EXPECT_EQ(plain_bind_error(Protocol::tcp, 21005), EADDRINUSE);
  const auto released = owner->release(Protocol::tcp, 21005);
  ASSERT_TRUE(released.ok()) << released.error.message;
  EXPECT_EQ(plain_bind_error(Protocol::tcp, 21005), 0);
  EXPECT_EQ(table()->view(Protocol::tcp, 21005)->state, SlotState::free);
  EXPECT_EQ(owner->release(Protocol::tcp, 21005).error.code, ErrorCode::not_held);
}

TEST_F(Requests, AnnotateLabelsAHeldPort) {
  start_supervisor();
  auto c = job_client("ci");
  ASSERT_TRUE(c->reserve({{"web", Protocol::tcp, 21006}}).ok());
  ASSERT_TRUE(client()->annotate(wire::Annotate{Protocol::tcp, 21006, "-> 172.17.0.2:80"}).ok());
  EXPECT_STREQ(table()->view(Protocol::tcp, 21006)->label, "-> 172.17.0.2:80");
  EXPECT_EQ(client()->annotate(wire::Annotate{Protocol::tcp, 21011, "x"}).error.code, ErrorCode::not_held);
}

TEST_F(Requests, StatusListsHeldPortsWithNames) {
  start_supervisor();
  auto c = job_client("ci");
  const auto reserved = c->reserve({{"web", Protocol::tcp, 0}, {"dns", Protocol::udp, 0}});
  ASSERT_TRUE(reserved.ok());
  const auto status = client()->status();
  ASSERT_TRUE(status.ok()) << status.error.message;
  ASSERT_EQ(status.value->entries.size(), 2u);
  for (const auto& e : status.value->entries) {
    EXPECT_EQ(e.state, SlotState::held);
    EXPECT_EQ(e.job_name, "ci");
    EXPECT_TRUE(e.label == "web" || e.label == "dns");
  }
}

TEST_F(Requests, GcReapsWhatDeadProcessesLeft) {
  start_supervisor();
  // A process claims a port in the table and dies without releasing it.
  const pid_t child = ::fork();
  if (child == 0) {
    auto t = PortTable::open_existing(table_name(root_));
    Claimant who;
    who.process = read_own_identity();
    who.job_id = pack_identity(who.process);
    const bool claimed = t.table && t.table->claim_port(Protocol::tcp, 21020, who).result == ClaimResult::claimed;
    ::_exit(claimed ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  const auto reply = client()->gc();
  ASSERT_TRUE(reply.ok()) << reply.error.message;
  // The once-a-second sweep may have been first; either way the dead claim is gone now.
  EXPECT_EQ(table()->view(Protocol::tcp, 21020)->state, SlotState::free);
}

}  // namespace
}  // namespace portsafe::testing
