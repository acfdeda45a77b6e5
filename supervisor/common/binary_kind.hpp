// What kind of program a command runs, and so whether the preload shim can reach it. The shim
// lives in LD_PRELOAD, which only the dynamic loader reads: static binaries never load it, Go
// binaries make raw syscalls even when dynamically linked, and set-id (or file-capability)
// binaries run with LD_PRELOAD dropped by the loader's secure mode. Held ports (--port/--listen)
// protect all of them anyway; this module lets portsafe-run and `portsafe doctor` say so.
#pragma once

#include <string>
#include <vector>

namespace portsafe::tools {

enum class BinaryKind {
  dynamic,         // ELF with PT_INTERP: the shim is loaded
  static_elf,      // ELF without PT_INTERP: LD_PRELOAD is never read
  go,              // a Go binary (.go.buildinfo or a Go build-id note): raw syscalls
  setid,           // set-uid/set-gid (to another id) or with file capabilities: LD_PRELOAD dropped
  unknown,         // not ELF and no #! (execve fails with ENOEXEC; a shell may run it)
  not_found,       // nothing by that name (exit 127, as env)
  not_executable,  // found, but no execute permission or not a regular file (exit 126, as env)
};

struct BinaryInfo {
  BinaryKind kind = BinaryKind::unknown;
  std::string path;                       // the file the command resolves to (through PATH)
  std::vector<std::string> interpreters;  // #! chain, outermost first; kind is the last one's
  std::string detail;                     // one line: why it is this kind
};

// Resolves command through path_env like execvp and classifies what would run. Scripts are
// followed through their #! line (and through `/usr/bin/env NAME`) up to a few levels.
BinaryInfo classify_program(const std::string& command, const char* path_env);

// Classifies one file path (no PATH lookup).
BinaryInfo classify_file(const std::string& path);

// True when LD_PRELOAD reaches the program, i.e. the shim intercepts its bind() calls.
bool shim_can_reach(BinaryKind kind) noexcept;

// "dynamic", "static", "go", "set-id", ...
const char* binary_kind_name(BinaryKind kind) noexcept;

}  // namespace portsafe::tools
