// libFuzzer target for what portsafed parses from untrusted clients: the frame cutter, the
// request parser, and (since clients parse our replies with the same core) the reply decoders.
// Properties checked beyond "no crash": a request that parses re-encodes to the exact bytes it
// came from, and the assembler never holds more than one frame's worth of bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <variant>
#include <vector>

#include "frame_assembler.hpp"
#include "request_parser.hpp"

namespace {

using namespace portsafe;
using namespace portsafe::supervisor;

std::vector<uint8_t> reencode(const Request& request) {
  return std::visit(
      [](const auto& r) -> std::vector<uint8_t> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, ReleaseRequest>) {
          return wire::encode(r.key);
        } else if constexpr (std::is_same_v<T, StatusRequest> || std::is_same_v<T, GcRequest> ||
                             std::is_same_v<T, PingRequest>) {
          return {};
        } else {
          return wire::encode(r);
        }
      },
      request);
}

void check_frame(const FrameEvent& event) {
  const ParsedRequest parsed = parse_request(event.type, event.payload);
  if (const auto* request = std::get_if<Request>(&parsed)) {
    if (reencode(*request) != event.payload) std::abort();  // strict parsing means a lossless one
  }
  // The replies' decoders see the same bytes: they must reject or accept, never misbehave.
  (void)wire::decode_job_opened(event.payload);
  (void)wire::decode_reserved(event.payload);
  (void)wire::decode_acquired(event.payload);
  (void)wire::decode_error(event.payload);
  (void)wire::decode_status(event.payload);
  (void)wire::decode_gc(event.payload);
  (void)wire::decode_pong(event.payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks how the stream is cut into reads, as a socket might deliver it.
  const size_t chunk = 1 + data[0] % 64;
  ++data;
  --size;
  FrameAssembler assembler;
  for (size_t offset = 0; offset < size; offset += chunk) {
    const size_t n = size - offset < chunk ? size - offset : chunk;
    assembler.append(data + offset, n);
    while (auto event = assembler.next()) {
      if (event->kind == FrameEvent::Kind::frame) check_frame(*event);
    }
    if (assembler.buffered() > wire::kHeaderSize + wire::kMaxPayload) std::abort();
  }
  return 0;
}
