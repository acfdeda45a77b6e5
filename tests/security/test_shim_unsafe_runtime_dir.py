"""The shim preloaded with an unsafe PORTSAFE_RUNTIME_DIR never breaks its host program: every
bind passes through to the kernel, with exactly one warning for the whole process."""
import os

import pytest

from portsafe_testlib import PYTHON

BINDS = """
import socket
for _ in range(3):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    print(s.getsockname()[1])
    s.close()
"""


@pytest.mark.parametrize("kind", ["world-writable", "symlink", "other-owner"])
def test_shim_passes_through_with_one_warning(ps, intruder, kind):
    root = ps.tmp / "root"
    if kind == "symlink":
        target = ps.tmp / "target"
        target.mkdir(mode=0o700)
        os.symlink(target, root)
    else:
        root.mkdir()
        os.chmod(root, 0o777 if kind == "world-writable" else 0o700)
        if kind == "other-owner":
            os.chown(root, intruder.pw_uid, intruder.pw_gid)
    env = ps.preload_env(PORTSAFE_RUNTIME_DIR=str(root), PORTSAFE_RANGE="20000-20099")
    out = ps.run([PYTHON, "-c", BINDS], env=env, timeout=30)
    assert out.returncode == 0, out.stderr
    ports = [int(p) for p in out.stdout.split()]
    assert len(ports) == 3 and all(p > 0 for p in ports)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert str(root) in lines[0] and "pass through" in lines[0], lines[0]
    assert not any(20000 <= p <= 20099 for p in ports)  # nothing was coordinated: the kernel chose
