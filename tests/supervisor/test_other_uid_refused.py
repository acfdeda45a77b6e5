"""A client of another uid is dropped without a byte of reply; the supervisor keeps serving."""
import os
import secrets
import shutil
import subprocess
import tempfile

import pytest

import portsafe_testlib
from portsafe_testlib import PYTHON
from supervisor_wire import Client, start_supervisor

PROBE = """
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
try:
    s.sendall(struct.pack("<IHHI", 0x57465350, 1, 7, 0))
    data = s.recv(100)
except (ConnectionResetError, BrokenPipeError):
    data = b""  # closed with our request unread: a reset, still not a byte of reply
print("reply-bytes", len(data))
"""


@pytest.fixture
def stranger():
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("setpriv"):
        pytest.skip("needs root, useradd and setpriv")
    # Unique on the host: parallel tests run in PID namespaces of their own, with equal pids.
    name = f"psx{secrets.token_hex(4)}"
    user = portsafe_testlib.ensure_system_user(name)
    try:
        yield user
    finally:
        portsafe_testlib.remove_system_user(name)


def test_another_uid_gets_no_reply(ps, stranger):
    # A root the stranger can reach at all (pytest's tmp directories are private to root).
    ps.runtime_dir = tempfile.mkdtemp(prefix="portsafe-uid-test-", dir="/tmp")
    ps.env["PORTSAFE_RUNTIME_DIR"] = ps.runtime_dir
    socket_path = start_supervisor(ps)
    # Let the stranger reach the socket at all (the root is private by design), so that the
    # supervisor's own SO_PEERCRED check is what refuses it.
    os.chmod(ps.runtime_dir, 0o711)
    os.chmod(socket_path, 0o666)
    out = subprocess.run(["setpriv", f"--reuid={stranger.pw_uid}", f"--regid={stranger.pw_gid}", "--clear-groups",
                          PYTHON, "-c", PROBE, socket_path], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "reply-bytes 0"
    assert Client(socket_path).ping() == ps.supervisor_pid()
    with open(os.path.join(ps.runtime_dir, "portsafed.log")) as log:
        assert f"uid {stranger.pw_uid}" in log.read()
    ps.cleanup()
    shutil.rmtree(ps.runtime_dir, ignore_errors=True)
