"""Root may inspect a user's private table on purpose (`sudo portsafe status` with
PORTSAFE_RUNTIME_DIR at that user's root): the table belongs to the owner of the root it serves,
so it is trusted, while one planted by a third user is not (test_planted_table.py)."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from portsafe_testlib import PYTHON, remove_root_table, table_shm_path, track_root, wait_for
from securitylib import as_user

HOLD = """
import socket, sys
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen()
print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""


@pytest.fixture
def user_root(intruder):
    """A private runtime root of another user (0700, theirs), with the table the shim made in it."""
    root = track_root(tempfile.mkdtemp(prefix="portsafe-user-", dir="/tmp"))
    os.chmod(root, 0o700)
    os.chown(root, intruder.pw_uid, intruder.pw_gid)
    try:
        yield root
    finally:
        remove_root_table(root)
        shutil.rmtree(root, ignore_errors=True)


def test_root_inspects_a_users_private_table(ps, intruder, user_root):
    env = {"PATH": "/usr/bin:/bin", "PORTSAFE_RUNTIME_DIR": user_root, "LD_PRELOAD": ps.shim}
    holder = subprocess.Popen(as_user(intruder, [PYTHON, "-c", HOLD]), env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(holder.stdout.readline())
        table = table_shm_path(user_root)
        assert wait_for(lambda: os.path.exists(table))
        assert os.stat(table).st_uid == intruder.pw_uid
        root_env = dict(ps.env, PORTSAFE_RUNTIME_DIR=user_root)
        out = ps.run([ps.program("portsafe"), "status", "--json"], env=root_env, timeout=30)
        assert out.returncode == 0, out.stderr
        entries = json.loads(out.stdout)
        assert any(e["port"] == port for e in entries), entries
        out = ps.run([ps.program("portsafe"), "--runtime-dir", user_root, "gc"], env=ps.env, timeout=30)
        assert out.returncode == 0, out.stderr
        assert os.stat(user_root).st_uid == intruder.pw_uid  # looking never took the root over
    finally:
        holder.stdin.close()
        holder.wait(timeout=15)
