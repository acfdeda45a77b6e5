// The daemon's frame cutter: frames split anywhere, bad magic and oversized lengths close the
// connection, a wrong version is answered and skipped, a partial frame waits.
#include "frame_assembler.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace portsafe::supervisor {
namespace {

using wire::ErrorCode;
using wire::MessageType;

std::vector<uint8_t> frame_with(uint32_t magic, uint16_t version, uint16_t type, uint32_t length,
                                const std::vector<uint8_t>& payload) {
  uint8_t header[wire::kHeaderSize];
  wire::encode_header(wire::FrameHeader{magic, version, type, length}, header);
  // Sized once, then filled: growing a vector built from `header` by insert() made GCC 12 at -O3
  // report a false -Warray-bounds inside the reallocation.
  std::vector<uint8_t> bytes(sizeof header + payload.size());
  std::copy(header, header + sizeof header, bytes.begin());
  std::copy(payload.begin(), payload.end(), bytes.begin() + sizeof header);
  return bytes;
}

TEST(FrameAssembler, DeliversFramesSplitAtEveryByte) {
  const auto first = wire::make_frame(MessageType::ping, {});
  const auto second = wire::make_frame(MessageType::release, {0, 0x10, 0x52});
  std::vector<uint8_t> stream = first;
  stream.insert(stream.end(), second.begin(), second.end());
  FrameAssembler assembler;
  std::vector<FrameEvent> events;
  for (const uint8_t byte : stream) {
    assembler.append(&byte, 1);
    while (auto event = assembler.next()) events.push_back(*event);
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, FrameEvent::Kind::frame);
  EXPECT_EQ(events[0].type, static_cast<uint16_t>(MessageType::ping));
  EXPECT_TRUE(events[0].payload.empty());
  EXPECT_EQ(events[1].type, static_cast<uint16_t>(MessageType::release));
  EXPECT_EQ(events[1].payload, (std::vector<uint8_t>{0, 0x10, 0x52}));
  EXPECT_EQ(assembler.buffered(), 0u);
}

TEST(FrameAssembler, BadMagicBreaksTheStream) {
  const auto bytes = frame_with(0x12345678, wire::kVersion, 7, 0, {});
  FrameAssembler assembler;
  assembler.append(bytes.data(), bytes.size());
  const auto event = assembler.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->kind, FrameEvent::Kind::problem);
  EXPECT_EQ(event->error.code, ErrorCode::bad_frame);
  EXPECT_TRUE(event->close);
  EXPECT_TRUE(assembler.broken());
  const auto ping = wire::make_frame(MessageType::ping, {});
  assembler.append(ping.data(), ping.size());
  EXPECT_FALSE(assembler.next());
}

TEST(FrameAssembler, OversizedLengthIsRefusedBeforeAnyPayloadArrives) {
  const auto bytes = frame_with(wire::kMagic, wire::kVersion, 7, wire::kMaxPayload + 1, {});
  FrameAssembler assembler;
  assembler.append(bytes.data(), bytes.size());
  const auto event = assembler.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->error.code, ErrorCode::bad_frame);
  EXPECT_TRUE(event->close);
}

TEST(FrameAssembler, WrongVersionIsAnsweredAndSkipped) {
  auto bytes = frame_with(wire::kMagic, 9, 7, 3, {1, 2, 3});
  const auto ping = wire::make_frame(MessageType::ping, {});
  bytes.insert(bytes.end(), ping.begin(), ping.end());
  FrameAssembler assembler;
  assembler.append(bytes.data(), bytes.size());
  const auto problem = assembler.next();
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->kind, FrameEvent::Kind::problem);
  EXPECT_EQ(problem->error.code, ErrorCode::bad_version);
  EXPECT_FALSE(problem->close);
  const auto next = assembler.next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->kind, FrameEvent::Kind::frame);
  EXPECT_EQ(next->type, static_cast<uint16_t>(MessageType::ping));
}

TEST(FrameAssembler, PartialFrameWaitsForTheRest) {
  const auto bytes = wire::make_frame(MessageType::annotate, std::vector<uint8_t>(100, 7));
  FrameAssembler assembler;
  assembler.append(bytes.data(), bytes.size() - 1);
  EXPECT_FALSE(assembler.next());
  EXPECT_FALSE(assembler.broken());
  assembler.append(bytes.data() + bytes.size() - 1, 1);
  const auto event = assembler.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->payload.size(), 100u);
}

}  // namespace
}  // namespace portsafe::supervisor
