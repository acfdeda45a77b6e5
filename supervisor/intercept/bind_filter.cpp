#include "intercept/bind_filter.hpp"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "portsafe/unnotified_bind.hpp"

namespace portsafe::intercept {
namespace {

#if defined(__x86_64__)
constexpr unsigned kNativeArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kNativeArch = AUDIT_ARCH_AARCH64;
#else
#error "portsafe's seccomp tier knows x86_64 and aarch64"
#endif

// The low 32 bits of a syscall argument (socklen_t is 32 bits; the kernel reads an int).
constexpr unsigned low_word_of_arg(unsigned index) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return static_cast<unsigned>(offsetof(struct seccomp_data, args)) + index * 8;
#else
  return static_cast<unsigned>(offsetof(struct seccomp_data, args)) + index * 8 + 4;
#endif
}

constexpr sock_filter statement(unsigned short code, unsigned k) { return sock_filter{code, 0, 0, k}; }
constexpr sock_filter jump(unsigned short code, unsigned k, unsigned char yes, unsigned char no) {
  return sock_filter{code, yes, no, k};
}

// Another architecture's calls (32-bit programs through the compat entry) are let through: their
// numbers differ, and they are outside this tier (README Limits).
constexpr sock_filter kProgram[] = {
    statement(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    jump(BPF_JMP | BPF_JEQ | BPF_K, kNativeArch, 0, 5),
    statement(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_bind, 0, 3),
    statement(BPF_LD | BPF_W | BPF_ABS, low_word_of_arg(2)),
    jump(BPF_JMP | BPF_JEQ | BPF_K, kUnnotifiedBindLength, 1, 0),
    statement(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    statement(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

}  // namespace

FilterInstall install_bind_filter(bool set_no_new_privs, bool killable_wait) noexcept {
  FilterInstall result;
  if (set_no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    result.error = errno;
    return result;
  }
  sock_fprog program{static_cast<unsigned short>(sizeof kProgram / sizeof kProgram[0]),
                     const_cast<sock_filter*>(kProgram)};
  const unsigned long base = SECCOMP_FILTER_FLAG_NEW_LISTENER;
  const unsigned long killable = killable_wait ? SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV : 0;
  long fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, base | killable, &program);
  result.killable = fd >= 0 && killable_wait;
  // Kernels before 5.19 refuse the unknown flag with EINVAL: the filter still works, but a
  // signal (Go's SIGURG preemption) may interrupt a bind while it waits for its answer, and the
  // program then retries it (Go does: EINTR).
  if (fd < 0 && errno == EINVAL) fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, base, &program);
  if (fd < 0) {
    result.error = errno;
    return result;
  }
  result.listener = static_cast<int>(fd);
  return result;
}

}  // namespace portsafe::intercept
