"""Runs argv[1:] under a seccomp listener that is not portsafe's, as inside a sandbox or a
container runtime with syscall interception: a filter with SECCOMP_FILTER_FLAG_NEW_LISTENER that
notifies acct(2) only (which nothing here calls), kept open while argv[1:] runs in a child. The kernel allows one listener per
process tree, so a filter installed below this one with NEW_LISTENER gets EBUSY. x86_64 only."""
import ctypes
import os
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
NR_SECCOMP = 317  # x86_64
NR_ACCT = 163  # x86_64
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3


def instruction(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


program = b"".join([
    instruction(0x20, 0, 0, 0),             # ld [nr]
    instruction(0x15, 0, 1, NR_ACCT),       # jeq acct ? next : allow
    instruction(0x06, 0, 0, 0x7FC00000),    # ret USER_NOTIF
    instruction(0x06, 0, 0, 0x7FFF0000),    # ret ALLOW
])
buffer = ctypes.create_string_buffer(program)


class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
prog = Fprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    sys.exit(f"cannot set no_new_privs: {os.strerror(ctypes.get_errno())}")
listener = libc.syscall(NR_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, ctypes.byref(prog))
if listener < 0:
    sys.exit(f"cannot install the test listener: {os.strerror(ctypes.get_errno())}")
# The listener is close-on-exec, and a closed listener no longer counts: like a sandbox's
# supervisor, this process keeps it open (never reading it) while the program runs in a child.
child = os.fork()
if child == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status = os.waitpid(child, 0)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
