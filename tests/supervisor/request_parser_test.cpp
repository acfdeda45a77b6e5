// Strict request parsing: every request type decodes, and anything short, long, out of range or
// unknown becomes the matching error instead of a half-understood request.
#include "request_parser.hpp"

#include <gtest/gtest.h>

namespace portsafe::supervisor {
namespace {

using wire::ErrorCode;
using wire::MessageType;

uint16_t type_of(MessageType type) { return static_cast<uint16_t>(type); }

TEST(RequestParser, DecodesEveryRequest) {
  EXPECT_TRUE(std::holds_alternative<Request>(
      parse_request(type_of(MessageType::open_job), wire::encode(wire::OpenJob{"ci", 0}))));
  const auto reserve = parse_request(type_of(MessageType::reserve),
                                     wire::encode(wire::Reserve{{{"web", Protocol::tcp, 0}, {"dns", Protocol::udp, 21010}}}));
  ASSERT_TRUE(std::holds_alternative<Request>(reserve));
  const auto& ports = std::get<wire::Reserve>(std::get<Request>(reserve)).ports;
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[1].name, "dns");
  EXPECT_EQ(ports[1].port, 21010);
  const auto acquire =
      parse_request(type_of(MessageType::acquire), wire::encode(wire::Acquire{Protocol::tcp, 21000, "127.0.0.1", true}));
  ASSERT_TRUE(std::holds_alternative<Request>(acquire));
  EXPECT_TRUE(std::get<wire::Acquire>(std::get<Request>(acquire)).listen);
  EXPECT_TRUE(std::holds_alternative<Request>(
      parse_request(type_of(MessageType::release), wire::encode(wire::PortKey{Protocol::udp, 21000}))));
  EXPECT_TRUE(std::holds_alternative<Request>(
      parse_request(type_of(MessageType::annotate), wire::encode(wire::Annotate{Protocol::tcp, 21000, "-> x"}))));
  for (const auto type : {MessageType::status, MessageType::gc, MessageType::ping}) {
    EXPECT_TRUE(std::holds_alternative<Request>(parse_request(type_of(type), {}))) << wire::message_type_name(type);
  }
}

// A re-reservation after a supervisor restart is a reserve with one trailing flag byte (1); a plain
// reserve carries none, and any other trailing value is refused rather than half understood.
TEST(RequestParser, DecodesTheReholdFlagOfAReserve) {
  wire::Reserve again{{{"dns", Protocol::udp, 21010}}};
  again.rehold = true;
  const auto parsed = parse_request(type_of(MessageType::reserve), wire::encode(again));
  ASSERT_TRUE(std::holds_alternative<Request>(parsed));
  EXPECT_TRUE(std::get<wire::Reserve>(std::get<Request>(parsed)).rehold);
  const auto plain = parse_request(type_of(MessageType::reserve), wire::encode(wire::Reserve{{{"dns", Protocol::udp, 0}}}));
  ASSERT_TRUE(std::holds_alternative<Request>(plain));
  EXPECT_FALSE(std::get<wire::Reserve>(std::get<Request>(plain)).rehold);
  auto odd = wire::encode(again);
  odd.back() = 2;
  EXPECT_EQ(std::get<wire::ErrorReply>(parse_request(type_of(MessageType::reserve), odd)).code, ErrorCode::bad_payload);
}

ErrorCode error_of(const ParsedRequest& parsed) {
  EXPECT_TRUE(std::holds_alternative<wire::ErrorReply>(parsed));
  return std::holds_alternative<wire::ErrorReply>(parsed) ? std::get<wire::ErrorReply>(parsed).code : ErrorCode::internal;
}

TEST(RequestParser, RejectsTrailingBytes) {
  auto payload = wire::encode(wire::PortKey{Protocol::tcp, 21000});
  payload.push_back(0);
  EXPECT_EQ(error_of(parse_request(type_of(MessageType::release), payload)), ErrorCode::bad_payload);
  EXPECT_EQ(error_of(parse_request(type_of(MessageType::ping), {1})), ErrorCode::bad_payload);
}

TEST(RequestParser, RejectsShortAndOutOfRangeFields) {
  auto payload = wire::encode(wire::OpenJob{"ci", 0});
  payload.pop_back();
  EXPECT_EQ(error_of(parse_request(type_of(MessageType::open_job), payload)), ErrorCode::bad_payload);
  // Protocol 7 does not exist; listen must be 0 or 1; zero ports is not a reservation.
  EXPECT_EQ(error_of(parse_request(type_of(MessageType::release), {7, 0, 0})), ErrorCode::bad_payload);
  EXPECT_EQ(error_of(parse_request(type_of(MessageType::acquire), {0, 1, 2, 0, 0, 2})), ErrorCode::bad_payload);
  EXPECT_EQ(error_of(parse_request(type_of(MessageType::reserve), {0})), ErrorCode::bad_payload);
}

TEST(RequestParser, UnknownAndReplyTypesAreNotRequests) {
  EXPECT_EQ(error_of(parse_request(999, {})), ErrorCode::unknown_type);
  EXPECT_EQ(error_of(parse_request(type_of(MessageType::pong), {})), ErrorCode::unknown_type);
}

}  // namespace
}  // namespace portsafe::supervisor
