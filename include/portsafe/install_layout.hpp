// Every program finds its siblings relative to its own path, in the build tree and after
// `cmake --install build --prefix P` alike: P/bin/<program>, P/lib/libportsafe.so.
#pragma once

#include <string>

namespace portsafe {

// The directory of the running executable (from /proc/self/exe).
std::string own_program_directory();
// P/bin/<name> next to the running program.
std::string sibling_program(const std::string& name);
// P/lib/libportsafe.so for a program in P/bin.
std::string shim_library_path();

inline constexpr const char* kShimFileName = "libportsafe.so";
inline constexpr const char* kSupervisorProgram = "portsafed";

}  // namespace portsafe
