// The wire protocol: every message round-trips; anything short, long or foreign is refused.
#include "portsafe/wire_protocol.hpp"

#include <gtest/gtest.h>

namespace portsafe::wire {
namespace {

TEST(WireProtocol, HeaderRoundTrips) {
  uint8_t bytes[kHeaderSize];
  encode_header(FrameHeader{kMagic, kVersion, 3, 1234}, bytes);
  const FrameHeader header = decode_header(bytes);
  EXPECT_EQ(header.magic, kMagic);
  EXPECT_EQ(header.version, kVersion);
  EXPECT_EQ(header.type, 3);
  EXPECT_EQ(header.length, 1234u);
  EXPECT_FALSE(check_header(header).has_value());
}

TEST(WireProtocol, ForeignOversizedAndNewerFramesAreRefused) {
  auto problem = check_header(FrameHeader{0x12345678, kVersion, 1, 0});
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->code, ErrorCode::bad_frame);
  problem = check_header(FrameHeader{kMagic, kVersion, 1, kMaxPayload + 1});
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->code, ErrorCode::bad_frame);
  problem = check_header(FrameHeader{kMagic, static_cast<uint16_t>(kVersion + 1), 1, 0});
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->code, ErrorCode::bad_version);
  EXPECT_NE(problem->message.find("version 2"), std::string::npos);
}

TEST(WireProtocol, FrameCarriesTypeAndPayload) {
  const auto frame = make_frame(MessageType::ping, {1, 2, 3});
  ASSERT_EQ(frame.size(), kHeaderSize + 3);
  uint8_t header_bytes[kHeaderSize];
  std::copy(frame.begin(), frame.begin() + kHeaderSize, header_bytes);
  const FrameHeader header = decode_header(header_bytes);
  EXPECT_EQ(header.type, static_cast<uint16_t>(MessageType::ping));
  EXPECT_EQ(header.length, 3u);
}

TEST(WireProtocol, ReserveRoundTrips) {
  Reserve request;
  request.ports = {{"web", Protocol::tcp, 0}, {"dns", Protocol::udp, 25353}};
  const auto decoded = decode_reserve(encode(request));
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->ports.size(), 2u);
  EXPECT_EQ(decoded->ports[1].name, "dns");
  EXPECT_EQ(decoded->ports[1].proto, Protocol::udp);
  EXPECT_EQ(decoded->ports[1].port, 25353);
}

TEST(WireProtocol, EveryMessageRoundTrips) {
  EXPECT_EQ(decode_open_job(encode(OpenJob{"ci-42", 99}))->job_id, 99u);
  const auto opened = decode_job_opened(encode(JobOpened{7, "ci", PortRange{20000, 20100}}));
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->range, (PortRange{20000, 20100}));
  const auto acquire = decode_acquire(encode(Acquire{Protocol::udp, 20001, "127.0.0.1", true}));
  ASSERT_TRUE(acquire);
  EXPECT_EQ(acquire->bind_address, "127.0.0.1");
  EXPECT_TRUE(acquire->listen);
  EXPECT_EQ(decode_acquired(encode(Acquired{Protocol::tcp, 20002}))->port, 20002);
  EXPECT_EQ(decode_port_key(encode(PortKey{Protocol::udp, 20003}))->proto, Protocol::udp);
  EXPECT_EQ(decode_annotate(encode(Annotate{Protocol::tcp, 1, "-> x"}))->label, "-> x");
  const auto error = decode_error(encode(ErrorReply{ErrorCode::range_full, "full"}));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, ErrorCode::range_full);
  StatusReply status;
  status.entries.push_back(StatusEntry{20000, Protocol::tcp, SlotState::held, 5, "job", 77, "db", 1000});
  const auto decoded_status = decode_status(encode(status));
  ASSERT_TRUE(decoded_status);
  ASSERT_EQ(decoded_status->entries.size(), 1u);
  EXPECT_EQ(decoded_status->entries[0].label, "db");
  EXPECT_EQ(decoded_status->entries[0].state, SlotState::held);
  EXPECT_EQ(decode_gc(encode(GcReply{12}))->reaped, 12u);
  EXPECT_EQ(decode_pong(encode(Pong{1, kVersion, "0.1.0"}))->version, "0.1.0");
}

TEST(WireProtocol, TruncatedPayloadsAreRefused) {
  const auto full = encode(Reserve{{{"web", Protocol::tcp, 0}}});
  for (size_t cut = 0; cut < full.size(); ++cut) {
    EXPECT_FALSE(decode_reserve(std::vector<uint8_t>(full.begin(), full.begin() + static_cast<long>(cut))))
        << "cut at " << cut;
  }
}

TEST(WireProtocol, TrailingBytesAreRefused) {
  auto bytes = encode(PortKey{Protocol::tcp, 1});
  bytes.push_back(0);
  EXPECT_FALSE(decode_port_key(bytes));
}

TEST(WireProtocol, OutOfDomainValuesAreRefused) {
  EXPECT_FALSE(decode_port_key({7, 1, 0}));                 // protocol 7
  EXPECT_FALSE(decode_reserve({0}));                        // zero ports
  EXPECT_FALSE(decode_reserve({static_cast<uint8_t>(kMaxPortsPerRequest + 1)}));
  auto acquire = encode(Acquire{Protocol::tcp, 1, "", false});
  acquire.back() = 2;                                       // listen flag 2
  EXPECT_FALSE(decode_acquire(acquire));
  EXPECT_FALSE(decode_status({0xff, 0xff, 0xff, 0xff}));    // a count the payload cannot hold
}

TEST(WireProtocol, OverlongStringsAreRefused) {
  WireWriter out;
  out.u16(static_cast<uint16_t>(kMaxString + 1));
  std::vector<uint8_t> bytes = out.bytes();
  bytes.resize(bytes.size() + kMaxString + 1, 'x');
  bytes.push_back(0);
  bytes.insert(bytes.end(), 8, 0);
  EXPECT_FALSE(decode_open_job(bytes));
}

}  // namespace
}  // namespace portsafe::wire
