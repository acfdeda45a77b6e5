#include "common/binary_kind.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "common/program_lookup.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::tools {
namespace {

constexpr int kMaxScriptDepth = 4;
constexpr size_t kMaxTableBytes = 1 << 20;  // program/section header tables we are willing to read

bool read_at(int fd, void* buffer, size_t size, uint64_t offset) {
  auto* out = static_cast<char*>(buffer);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

struct ElfFacts {
  bool valid = false;
  bool has_interp = false;
  bool go = false;
};

// Scans a note area for an entry owned by "Go" (the Go toolchain's build-id note).
bool notes_name_go(const std::vector<char>& notes) {
  size_t at = 0;
  while (at + 12 <= notes.size()) {
    uint32_t namesz = 0, descsz = 0;
    std::memcpy(&namesz, notes.data() + at, 4);
    std::memcpy(&descsz, notes.data() + at + 4, 4);
    const size_t name_at = at + 12;
    if (name_at + namesz > notes.size()) return false;
    if (namesz == 3 && std::memcmp(notes.data() + name_at, "Go", 3) == 0) return true;
    at = name_at + ((namesz + 3u) & ~3u) + ((descsz + 3u) & ~3u);
  }
  return false;
}

// Reads the facts we need from an ELF file of either class (native byte order only: a foreign
// one could not run here without binfmt emulation, where LD_PRELOAD does not apply either).
template <typename Ehdr, typename Phdr, typename Shdr>
ElfFacts read_elf(int fd) {
  ElfFacts facts;
  Ehdr eh{};
  if (!read_at(fd, &eh, sizeof eh, 0)) return facts;
  if (eh.e_phentsize != sizeof(Phdr) || size_t{eh.e_phnum} * sizeof(Phdr) > kMaxTableBytes) return facts;
  facts.valid = true;

  std::vector<Phdr> phdrs(eh.e_phnum);
  if (!phdrs.empty() && !read_at(fd, phdrs.data(), phdrs.size() * sizeof(Phdr), eh.e_phoff)) return ElfFacts{};
  for (const Phdr& ph : phdrs) {
    if (ph.p_type == PT_INTERP) facts.has_interp = true;
    if (ph.p_type == PT_NOTE && ph.p_filesz > 0 && ph.p_filesz < kMaxTableBytes && !facts.go) {
      std::vector<char> notes(ph.p_filesz);
      if (read_at(fd, notes.data(), notes.size(), ph.p_offset)) facts.go = notes_name_go(notes);
    }
  }
  if (facts.go) return facts;

  // Section names: Go's .go.buildinfo survives stripping (-s -w removes symbols, not sections).
  if (eh.e_shentsize != sizeof(Shdr) || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum ||
      size_t{eh.e_shnum} * sizeof(Shdr) > kMaxTableBytes) {
    return facts;
  }
  std::vector<Shdr> shdrs(eh.e_shnum);
  if (!read_at(fd, shdrs.data(), shdrs.size() * sizeof(Shdr), eh.e_shoff)) return facts;
  const Shdr& strtab = shdrs[eh.e_shstrndx];
  if (strtab.sh_size == 0 || strtab.sh_size > kMaxTableBytes) return facts;
  std::vector<char> names(strtab.sh_size + 1, '\0');
  if (!read_at(fd, names.data(), strtab.sh_size, strtab.sh_offset)) return facts;
  for (const Shdr& sh : shdrs) {
    if (sh.sh_name >= strtab.sh_size) continue;
    const std::string_view name(names.data() + sh.sh_name);
    if (name == ".go.buildinfo" || name == ".note.go.buildid" || name == ".gopclntab") {
      facts.go = true;
      break;
    }
  }
  return facts;
}

// True when exec would switch identity or gain capabilities: the loader then runs in secure mode
// and ignores LD_PRELOAD. A set-uid file owned by ourselves changes nothing.
bool is_setid(const std::string& path, const struct stat& st) {
  if ((st.st_mode & S_ISUID) && st.st_uid != ::geteuid()) return true;
  if ((st.st_mode & S_ISGID) && st.st_gid != ::getegid()) return true;
  return ::getxattr(path.c_str(), "security.capability", nullptr, 0) > 0;
}

// Splits a "#!" line into the interpreter and its optional single argument (as Linux does).
bool read_shebang(int fd, std::string& interpreter, std::string& argument) {
  char line[256] = {};
  const ssize_t n = ::pread(fd, line, sizeof line - 1, 0);
  if (n < 2 || line[0] != '#' || line[1] != '!') return false;
  std::string_view text(line + 2, static_cast<size_t>(n) - 2);
  text = text.substr(0, text.find('\n'));
  const auto skip_blanks = [](std::string_view& s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  };
  skip_blanks(text);
  const auto blank = text.find_first_of(" \t");
  interpreter = std::string(text.substr(0, blank));
  if (blank != std::string_view::npos) {
    std::string_view rest = text.substr(blank);
    skip_blanks(rest);
    argument = std::string(rest);
  }
  return !interpreter.empty();
}

// "/usr/bin/env [-S] NAME ..." runs NAME from PATH: that is the program that matters.
std::string env_target(const std::string& argument) {
  std::string_view rest(argument);
  while (!rest.empty()) {
    const auto blank = rest.find_first_of(" \t");
    const std::string_view word = rest.substr(0, blank);
    if (!word.empty() && word.front() != '-' && word.find('=') == std::string_view::npos) return std::string(word);
    if (blank == std::string_view::npos) break;
    rest.remove_prefix(blank + 1);
  }
  return {};
}

BinaryInfo classify_at_depth(const std::string& path, int depth);

BinaryInfo classify_script(BinaryInfo info, int fd, int depth) {
  std::string interpreter, argument;
  if (!read_shebang(fd, interpreter, argument)) return info;
  if (depth >= kMaxScriptDepth) {
    info.detail = "#! chain too deep";
    return info;
  }
  std::string target = interpreter;
  const auto slash = interpreter.rfind('/');
  if (interpreter.substr(slash == std::string::npos ? 0 : slash + 1) == "env") {
    if (std::string name = env_target(argument); !name.empty()) {
      const ProgramLookup found = lookup_program(name, std::getenv("PATH"));
      target = found.status == LookupStatus::found ? found.path : name;
    }
  }
  BinaryInfo inner = classify_at_depth(target, depth + 1);
  inner.interpreters.insert(inner.interpreters.begin(), target);
  inner.path = info.path;
  if (inner.kind == BinaryKind::not_found || inner.kind == BinaryKind::not_executable) {
    inner.detail = "its #! interpreter " + target + " cannot run: " + inner.detail;
  } else {
    inner.detail = "a script run by " + target + " (" + inner.detail + ")";
  }
  return inner;
}

BinaryInfo classify_at_depth(const std::string& path, int depth) {
  BinaryInfo info;
  info.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    info.kind = BinaryKind::not_found;
    info.detail = std::string("no such file: ") + path;
    return info;
  }
  if (!S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0) {
    info.kind = BinaryKind::not_executable;
    info.detail = S_ISREG(st.st_mode) ? "no execute permission" : "not a regular file";
    return info;
  }
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    // Executable but unreadable (mode --x): exec works, we just cannot look inside.
    info.kind = BinaryKind::unknown;
    info.detail = "not readable, so not inspected";
    return info;
  }
  if (is_setid(path, st)) {
    info.kind = BinaryKind::setid;
    info.detail = "set-uid/set-gid or file capabilities: the loader drops LD_PRELOAD";
    return info;
  }
  unsigned char ident[EI_NIDENT] = {};
  if (!read_at(fd.get(), ident, sizeof ident, 0) || std::memcmp(ident, ELFMAG, SELFMAG) != 0) {
    info.kind = BinaryKind::unknown;
    info.detail = "neither ELF nor a #! script";
    return classify_script(std::move(info), fd.get(), depth);
  }
  const ElfFacts facts = ident[EI_CLASS] == ELFCLASS64 ? read_elf<Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr>(fd.get())
                         : ident[EI_CLASS] == ELFCLASS32 ? read_elf<Elf32_Ehdr, Elf32_Phdr, Elf32_Shdr>(fd.get())
                                                          : ElfFacts{};
  if (!facts.valid) {
    info.kind = BinaryKind::unknown;
    info.detail = "a malformed ELF file";
  } else if (facts.go) {
    info.kind = BinaryKind::go;
    info.detail = "a Go binary: it makes raw syscalls that LD_PRELOAD never sees";
  } else if (!facts.has_interp) {
    info.kind = BinaryKind::static_elf;
    info.detail = "statically linked: the dynamic loader (and so LD_PRELOAD) never runs";
  } else {
    info.kind = BinaryKind::dynamic;
    info.detail = "dynamically linked: the shim is preloaded";
  }
  return info;
}

}  // namespace

BinaryInfo classify_file(const std::string& path) { return classify_at_depth(path, 0); }

BinaryInfo classify_program(const std::string& command, const char* path_env) {
  const ProgramLookup found = lookup_program(command, path_env);
  if (found.status == LookupStatus::not_found) {
    BinaryInfo info;
    info.kind = BinaryKind::not_found;
    info.path = command;
    info.detail = command.find('/') != std::string::npos ? "no such file" : "not found in PATH";
    return info;
  }
  return classify_file(found.path);
}

bool shim_can_reach(BinaryKind kind) noexcept { return kind == BinaryKind::dynamic; }

const char* binary_kind_name(BinaryKind kind) noexcept {
  switch (kind) {
    case BinaryKind::dynamic: return "dynamic";
    case BinaryKind::static_elf: return "static";
    case BinaryKind::go: return "go";
    case BinaryKind::setid: return "set-id";
    case BinaryKind::unknown: return "unknown";
    case BinaryKind::not_found: return "not-found";
    case BinaryKind::not_executable: return "not-executable";
  }
  return "unknown";
}

}  // namespace portsafe::tools
