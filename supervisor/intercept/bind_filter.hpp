// The seccomp filter of the interception tier: every bind(2) of the job stops in the kernel and
// waits for portsafe-run's answer (SECCOMP_RET_USER_NOTIF), except the preload shim's own binds,
// which carry the address length kUnnotifiedBindLength (the shim has applied the claim rules).
//
// A hand-written classic BPF program rather than libseccomp: Debian's libseccomp 2.5.4 cannot ask
// for SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (2.6 added it), libseccomp allocates while it builds
// a filter, and the filter is installed in the launcher's vfork child, which may not allocate.
// The program is six instructions.
#pragma once

namespace portsafe::intercept {

struct FilterInstall {
  int listener = -1;  // the notification fd (close-on-exec), or -1
  int error = 0;      // errno of the failed step when listener is -1
  bool killable = false;  // WAIT_KILLABLE_RECV was accepted (kernel 5.19+)
};

// Installs the filter on the calling thread, setting PR_SET_NO_NEW_PRIVS first when
// set_no_new_privs (required without CAP_SYS_ADMIN). Async-signal-safe, allocation-free.
// error EBUSY: a filter of this thread's chain already has a listener (an outer job's filter).
// killable_wait false leaves out WAIT_KILLABLE_RECV, as kernels before 5.19 do (tests: a signal
// may then interrupt a served call before its answer).
FilterInstall install_bind_filter(bool set_no_new_privs, bool killable_wait = true) noexcept;

}  // namespace portsafe::intercept
