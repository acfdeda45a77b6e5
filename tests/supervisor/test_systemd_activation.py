"""Under systemd socket activation (LISTEN_PID == its pid, LISTEN_FDS=1) portsafed serves the
socket it is given on fd 3, and leaves it in place when it exits."""
import os
import socket
import subprocess

from portsafe_testlib import PYTHON
from supervisor_wire import Client

ACTIVATE = """
import os, sys
os.dup2(int(sys.argv[1]), 3)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
os.execv(sys.argv[2], sys.argv[2:])
"""


def test_serves_the_socket_systemd_passes(ps):
    socket_path = os.path.join(ps.runtime_dir, "portsafed.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    # As systemd does: the socket on fd 3, LISTEN_PID set to the pid that execs portsafed.
    proc = subprocess.Popen([PYTHON, "-c", ACTIVATE, str(listener.fileno()), ps.program("portsafed"), "--runtime-dir",
                             ps.runtime_dir, "--foreground", "--idle-timeout", "1"],
                            env=ps.env, pass_fds=[listener.fileno()])
    try:
        assert Client(socket_path).ping() == proc.pid
        assert ps.supervisor_pid() == proc.pid
        # Idle exit: systemd owns the socket, so it stays for the next activation.
        assert proc.wait(timeout=15) == 0
        assert os.path.exists(socket_path)
    finally:
        listener.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_descriptor_that_is_not_a_listening_socket_is_refused(ps):
    with open(os.devnull) as not_a_socket:
        proc = subprocess.run([PYTHON, "-c", ACTIVATE, str(not_a_socket.fileno()), ps.program("portsafed"),
                               "--runtime-dir", ps.runtime_dir, "--foreground"],
                              env=ps.env, pass_fds=[not_a_socket.fileno()], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "LISTEN_FDS" in proc.stderr


def test_units_are_installed():
    prefix = os.environ["PORTSAFE_PREFIX"]
    units = os.path.join(prefix, "share", "portsafe", "systemd")
    with open(os.path.join(units, "portsafed@.service")) as f:
        service = f.read()
    assert f"ExecStart={prefix}/bin/portsafed" in service
    with open(os.path.join(units, "portsafed@.socket")) as f:
        unit = f.read()
    assert "ListenStream=%t/portsafe/%i/portsafed.sock" in unit
    assert "SocketMode=0600" in unit
