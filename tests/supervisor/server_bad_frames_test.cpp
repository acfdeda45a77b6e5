// Truncated, oversized, unknown, wrong-version and garbage messages: each gets the documented
// answer (or, for a frame cut short by EOF, none), and the supervisor keeps serving everyone.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <random>

#include "portsafe/fd_passing.hpp"
#include "supervisor_fixture.hpp"

namespace portsafe::testing {
namespace {

using wire::ErrorCode;
using wire::MessageType;

class BadFrames : public SupervisorTest {
 protected:
  void send_bytes(int fd, const std::vector<uint8_t>& bytes) {
    ASSERT_EQ(send_with_fds(fd, bytes.data(), bytes.size(), nullptr, 0), 0);
  }

  // Reads one reply frame; nullopt when the supervisor closed instead.
  std::optional<std::pair<MessageType, std::vector<uint8_t>>> read_reply(int fd) {
    uint8_t header_bytes[wire::kHeaderSize];
    if (receive_exact(fd, header_bytes, sizeof header_bytes, nullptr) != 0) return std::nullopt;
    const auto header = wire::decode_header(header_bytes);
    std::vector<uint8_t> payload(header.length);
    if (receive_exact(fd, payload.data(), payload.size(), nullptr) != 0) return std::nullopt;
    return std::make_pair(static_cast<MessageType>(header.type), payload);
  }

  ErrorCode read_error(int fd) {
    const auto reply = read_reply(fd);
    EXPECT_TRUE(reply) << "no reply";
    if (!reply) return ErrorCode::internal;
    EXPECT_EQ(reply->first, MessageType::error);
    const auto error = wire::decode_error(reply->second);
    EXPECT_TRUE(error);
    return error ? error->code : ErrorCode::internal;
  }

  bool closed_by_peer(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return false;
    char byte;
    return ::recv(fd, &byte, 1, 0) == 0;
  }

  static std::vector<uint8_t> header_only(uint32_t magic, uint16_t version, uint16_t type, uint32_t length) {
    uint8_t bytes[wire::kHeaderSize];
    wire::encode_header(wire::FrameHeader{magic, version, type, length}, bytes);
    return {bytes, bytes + sizeof bytes};
  }
};

TEST_F(BadFrames, BadMagicGetsAnErrorThenTheConnectionCloses) {
  start_supervisor();
  UniqueFd fd = raw_connect();
  send_bytes(fd.get(), header_only(0xdeadbeef, wire::kVersion, 7, 0));
  EXPECT_EQ(read_error(fd.get()), ErrorCode::bad_frame);
  EXPECT_TRUE(closed_by_peer(fd.get()));
  EXPECT_TRUE(supervisor_answers());
}

TEST_F(BadFrames, OversizedFrameGetsAnErrorThenTheConnectionCloses) {
  start_supervisor();
  UniqueFd fd = raw_connect();
  send_bytes(fd.get(), header_only(wire::kMagic, wire::kVersion, 7, wire::kMaxPayload + 1));
  EXPECT_EQ(read_error(fd.get()), ErrorCode::bad_frame);
  EXPECT_TRUE(closed_by_peer(fd.get()));
  EXPECT_TRUE(supervisor_answers());
}

TEST_F(BadFrames, WrongVersionIsAnsweredAndTheConnectionStaysUsable) {
  start_supervisor();
  UniqueFd fd = raw_connect();
  auto bytes = header_only(wire::kMagic, 2, static_cast<uint16_t>(MessageType::ping), 2);
  bytes.push_back(1);
  bytes.push_back(2);
  send_bytes(fd.get(), bytes);
  EXPECT_EQ(read_error(fd.get()), ErrorCode::bad_version);
  send_bytes(fd.get(), wire::make_frame(MessageType::ping, {}));
  const auto pong = read_reply(fd.get());
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->first, MessageType::pong);
}

TEST_F(BadFrames, UnknownTypeAndBadPayloadAreAnsweredOnTheSameConnection) {
  start_supervisor();
  UniqueFd fd = raw_connect();
  send_bytes(fd.get(), wire::make_frame(static_cast<MessageType>(4242), {1, 2, 3}));
  EXPECT_EQ(read_error(fd.get()), ErrorCode::unknown_type);
  send_bytes(fd.get(), wire::make_frame(MessageType::reserve, {1, 0xff}));
  EXPECT_EQ(read_error(fd.get()), ErrorCode::bad_payload);
  send_bytes(fd.get(), wire::make_frame(MessageType::ping, {}));
  const auto pong = read_reply(fd.get());
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->first, MessageType::pong);
}

TEST_F(BadFrames, TruncatedFrameThenEofIsDroppedQuietly) {
  start_supervisor();
  UniqueFd fd = raw_connect();
  const auto frame = wire::make_frame(MessageType::open_job, wire::encode(wire::OpenJob{"cut", 0}));
  // All but the last three bytes (GCC's -Wstringop-overflow misreads a shrinking resize here).
  send_bytes(fd.get(), std::vector<uint8_t>(frame.begin(), frame.end() - 3));
  ::shutdown(fd.get(), SHUT_WR);
  EXPECT_TRUE(closed_by_peer(fd.get()));
  EXPECT_TRUE(supervisor_answers());
}

TEST_F(BadFrames, GarbageNeverStopsTheSupervisor) {
  start_supervisor();
  std::mt19937 random(12345);
  for (int round = 0; round < 50; ++round) {
    UniqueFd fd = raw_connect();
    std::vector<uint8_t> garbage(1 + random() % 300);
    for (auto& b : garbage) b = static_cast<uint8_t>(random());
    // Half the rounds start with a valid header so the payload parsers see garbage too.
    if (round % 2 == 0 && garbage.size() >= wire::kHeaderSize) {
      const auto header = header_only(wire::kMagic, wire::kVersion, static_cast<uint16_t>(1 + round % 8),
                                      static_cast<uint32_t>(garbage.size() - wire::kHeaderSize));
      std::copy(header.begin(), header.end(), garbage.begin());
    }
    send_bytes(fd.get(), garbage);
    ::shutdown(fd.get(), SHUT_WR);
  }
  EXPECT_TRUE(supervisor_answers());
  EXPECT_EQ(::kill(pid_, 0), 0);
}

}  // namespace
}  // namespace portsafe::testing
