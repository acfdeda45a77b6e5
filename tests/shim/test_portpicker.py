"""portpicker.pick_unused_port() (Debian's python3-portpicker) under the shim returns a port from
the range, which the job's server can then bind without SO_REUSEADDR.

portpicker probes TCP by binding and listening, UDP by binding: neither serves anyone, so both
claims linger for the job at close and another job is refused the number, over TCP and UDP. The
job's own server takes it over; once it has served a connection its close frees the port."""
import errno

import pytest

import shimlib

RANGE = (24500, 24515)

PICK = "import portpicker; print(portpicker.pick_unused_port())"
SERVE = r"""
import socket, sys
kind = socket.SOCK_STREAM if sys.argv[2] == "tcp" else socket.SOCK_DGRAM
s = socket.socket(type=kind)  # no SO_REUSEADDR: exactly what breaks when the port was stolen
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    if kind == socket.SOCK_STREAM:
        s.listen()
        with socket.create_connection(("127.0.0.1", int(sys.argv[1]))), s.accept()[0]:
            pass
    print("ok")
except OSError as e:
    print("refused", e.errno)
"""


def test_portpicker_port_comes_from_the_range_and_serves(ps):
    pytest.importorskip("portpicker")
    ps.set_range(*RANGE)
    with shimlib.job_leader() as job, shimlib.job_leader() as other_job:
        picked = ps.run([shimlib.PYTHON, "-c", PICK], env=ps.preload_env(PORTSAFE_JOB_ID=job))
        assert picked.returncode == 0, picked.stderr
        port = int(picked.stdout)
        assert shimlib.in_range(port, RANGE)
        table = shimlib.Table(ps.runtime_dir)
        for proto in ("tcp", "udp"):
            assert table.state(port, proto) == "linger", proto + ": the probe served no one: it lingers for the job"
            other = ps.run([shimlib.PYTHON, "-c", SERVE, str(port), proto],
                           env=ps.preload_env(PORTSAFE_JOB_ID=other_job))
            assert other.stdout.split() == ["refused", str(errno.EADDRINUSE)], proto + ": " + other.stdout + other.stderr

        for proto in ("tcp", "udp"):
            served = ps.run([shimlib.PYTHON, "-c", SERVE, str(port), proto], env=ps.preload_env(PORTSAFE_JOB_ID=job))
            assert served.stdout.strip() == "ok", proto + ": " + served.stdout + served.stderr
        assert table.state(port, "tcp") == "free", "served a connection and closed: free again"
