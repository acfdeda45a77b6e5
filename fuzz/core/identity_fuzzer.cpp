// libFuzzer target for PORTSAFE_JOB_ID ("PID.STARTTICKS"), which any process of a job may inherit
// or forge. Beyond "no crash": an accepted identity has a pid that fits the table's packed form,
// survives its own text form, and packs and unpacks to the same pid.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "portsafe/process_identity.hpp"

namespace {

using namespace portsafe;

constexpr uint64_t kPidLimit = uint64_t{1} << 22;  // pid_max is at most 2^22 (process_identity.hpp)

void check_round_trip(const ProcessIdentity& who) {
  if (who.pid == 0 || who.pid >= kPidLimit) std::abort();
  const std::string text = fmt::format("{}.{}", who.pid, who.start_ticks);
  const auto again = parse_identity(text.c_str());
  if (!again || *again != who) std::abort();
  const ProcessIdentity unpacked = unpack_identity(pack_identity(who));
  const uint64_t start_mask = (uint64_t{1} << kIdentityStartBits) - 1;
  if (unpacked.pid != who.pid || unpacked.start_ticks != (who.start_ticks & start_mask)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The environment gives a NUL-terminated string: cut the input at its first NUL, as getenv would.
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (const auto who = parse_identity(text.c_str())) check_round_trip(*who);
  if (parse_identity(nullptr)) std::abort();
  return 0;
}
