"""Runs argv[1:] where the kernel refuses seccomp() (EPERM), as under a sandbox that forbids it:
installs a filter of its own that answers seccomp(2) with EPERM, then execs. x86_64 only."""
import ctypes
import os
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
NR_SECCOMP = 317  # x86_64
EPERM = 1


def instruction(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


program = b"".join([
    instruction(0x20, 0, 0, 0),                   # ld [nr]
    instruction(0x15, 0, 1, NR_SECCOMP),          # jeq seccomp ? next : allow
    instruction(0x06, 0, 0, 0x00050000 | EPERM),  # ret ERRNO(EPERM)
    instruction(0x06, 0, 0, 0x7FFF0000),          # ret ALLOW
])
buffer = ctypes.create_string_buffer(program)


class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


libc = ctypes.CDLL(None, use_errno=True)
prog = Fprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
        libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
    sys.exit(f"cannot install the test filter: {os.strerror(ctypes.get_errno())}")
os.execv(sys.argv[1], sys.argv[1:])
