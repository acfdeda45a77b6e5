"""Under systemd socket activation (LISTEN_PID == its pid, LISTEN_FDS=1) portsafed serves the
socket it is given on fd 3, and leaves it in place when it exits."""
import os
import socket
import subprocess

from portsafe_testlib import wait_for
from supervisor_wire import Client, process_alive


def test_serves_the_socket_systemd_passes(ps):
    socket_path = os.path.join(ps.runtime_dir, "portsafed.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    # As systemd does: the socket on fd 3, LISTEN_PID set to the pid that execs portsafed.
    script = f'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --runtime-dir "$1" --foreground --idle-timeout 1'
    proc = subprocess.Popen(["/bin/sh", "-c", script, ps.program("portsafed"), ps.runtime_dir], env=ps.env,
                            pass_fds=[listener.fileno()], preexec_fn=lambda: os.dup2(listener.fileno(), 3))
    try:
        assert Client(socket_path).ping() == proc.pid
        assert ps.supervisor_pid() == proc.pid
        # Idle exit: systemd owns the socket, so it stays for the next activation.
        assert proc.wait(timeout=15) == 0
        assert os.path.exists(socket_path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        listener.close()


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
