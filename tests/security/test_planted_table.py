"""A table another user made first at our table's name (names derive from the root path, and
/dev/shm is shared) is never trusted: readable-and-writable by all, it would let that user see and
rewrite every claim. portsafe refuses it with one line and its documented exit code; the shim in
our programs passes through with one warning."""
import os
import select
import signal
import socket
import subprocess

import pytest

from portsafe_testlib import PYTHON, table_shm_path
from securitylib import as_user, assert_one_line, real_table_bytes


@pytest.fixture(scope="module")
def table_bytes(tmp_path_factory):
    """A well-formed table, as a real run makes it."""
    return real_table_bytes(tmp_path_factory.mktemp("model"))


@pytest.fixture(params=[0o666, 0o600], ids=["world-writable", "private-to-intruder"])
def planted(ps, intruder, table_bytes, request):
    path = table_shm_path(ps.runtime_dir)
    code = f"import os, sys; os.umask(0); open({path!r}, 'wb').write(sys.stdin.buffer.read()); os.chmod({path!r}, {request.param:#o})"
    out = subprocess.run(as_user(intruder, [PYTHON, "-c", code]), input=table_bytes, capture_output=True,
                         env={"PATH": "/usr/bin:/bin"}, timeout=30)
    assert out.returncode == 0, out.stderr
    assert os.stat(path).st_uid == intruder.pw_uid
    yield path
    os.unlink(path)  # root may remove it from sticky /dev/shm; the test's user would have to ask


@pytest.mark.parametrize("command", [["status"], ["gc"]])
def test_admin_refuses_planted_table(ps, planted, command):
    # Even as root: a root's table is trusted only when it belongs to the root directory's owner.
    out = ps.run([ps.program("portsafe"), *command], timeout=30)
    assert_one_line(out, "portsafe", planted)
    assert out.returncode == 1


def test_supervisor_refuses_planted_table(ps, planted):
    out = ps.run([ps.program("portsafed"), "--foreground", "--idle-timeout", "1"], timeout=30)
    assert_one_line(out, "portsafed", planted)
    assert out.returncode == 1


def test_shim_passes_through_planted_table(ps, planted, table_bytes):
    code = "import socket\nfor _ in range(3):\n    s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
    out = ps.run([PYTHON, "-c", code], env=ps.preload_env(), timeout=30)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.split()) == 3
    assert_one_line(out, "shim", planted)
    with open(planted, "rb") as f:
        assert f.read() == table_bytes  # nothing was written into it


def test_docker_proxy_ignores_planted_table(ps, planted):
    """dockerd runs the proxy as root: a planted table must not steer it to another supervisor."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    read_end, write_end = os.pipe()
    args = [ps.program("portsafe-docker-proxy"), "-proto", "tcp", "-host-ip", "127.0.0.1", "-host-port", str(port),
            "-container-ip", "127.0.0.2", "-container-port", "9"]
    proc = subprocess.Popen(args, env=ps.env, close_fds=False, preexec_fn=lambda: os.dup2(write_end, 3),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 30)
        status = os.read(read_end, 2) if ready else b""
    finally:
        os.close(read_end)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    assert status == b"0\n", stderr  # it serves the port with its own bind, as dockerd's proxy does
    assert proc.returncode == 0, stderr
    assert planted in stderr, stderr  # and says which table it refused
