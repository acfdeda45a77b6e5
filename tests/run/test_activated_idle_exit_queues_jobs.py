"""Under systemd socket activation the socket outlives an idle-exiting portsafed, so a job that
meets the exiting supervisor (refused with `stopping`) reconnects to the same socket. The exiting
supervisor accepts its backlog once and then no more: the retry waits in the socket's queue until
systemd (played here by the test) activates a fresh supervisor, and portsafe-run, pausing between
retries, gets its port from that one instead of giving up with 125."""
import json
import os
import select
import sys
import signal
import socket
import subprocess
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "supervisor"))

from portsafe_testlib import PYTHON, first_line, launch_held_job, port_is_bindable, queued_connections, wait_for  # noqa: E402
from supervisor_wire import Client  # noqa: E402

ACTIVATE = """
import os, sys
os.dup2(int(sys.argv[1]), 3)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
os.execv(sys.argv[2], sys.argv[2:])
"""


def activate(ps, listener, *extra):
    """Starts portsafed on the listener as systemd would."""
    return subprocess.Popen([PYTHON, "-c", ACTIVATE, str(listener.fileno()), ps.program("portsafed"), "--runtime-dir",
                             ps.runtime_dir, "--foreground", *extra],
                            env=ps.env, pass_fds=[listener.fileno()], stderr=subprocess.DEVNULL)


def test_a_job_refused_by_an_exiting_activated_supervisor_waits_for_the_next_activation(ps):
    socket_path = os.path.join(ps.runtime_dir, "portsafed.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    old = activate(ps, listener, "--idle-timeout", "2")
    fresh = job = None
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # Serving (its idle clock runs from this request): only then is it stopped.
        assert Client(socket_path, timeout=30).ping() == old.pid
        os.kill(old.pid, signal.SIGSTOP)
        try:
            # Stopped, its idle time runs out and its timer fires: when it continues it begins
            # exiting in the same turn that takes in the job below.
            time.sleep(3.5)
            job = launch_held_job(ps, "a", env={**ps.env, "PORTSAFE_LOG": "debug"})
            assert wait_for(lambda: queued_connections(socket_path) >= 1, timeout=15), "portsafe-run never connected"
            # A client that connected meanwhile and says nothing keeps the exiting supervisor
            # draining (up to 2 s): the window in which portsafe-run's retries could meet it.
            idle.connect(socket_path)
            assert wait_for(lambda: queued_connections(socket_path) >= 2, timeout=15)
        finally:
            os.kill(old.pid, signal.SIGCONT)
        assert old.wait(timeout=30) == 0
        idle.close()
        # As systemd does: a connection waiting on the socket activates the service again.
        readable, _, _ = select.select([listener], [], [], 15)
        assert readable, "portsafe-run gave up instead of waiting for the next activation"
        fresh = activate(ps, listener, "--idle-timeout", "30")
        port = int(first_line(job))
        assert job.poll() is None, job.stderr.read()
        out = ps.run([ps.program("portsafe"), "status", "--json"])
        held = [e for e in json.loads(out.stdout) if e["port"] == port]
        assert held and held[0]["state"] == "held", out.stdout
        assert ps.supervisor_pid() == fresh.pid
        assert not port_is_bindable(port)
    finally:
        if job is not None:
            job.terminate()
            job.wait(timeout=30)
        for proc in (old, fresh):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        listener.close()
        idle.close()
    assert "the supervisor is exiting; reconnecting to a fresh one" in job.stderr.read()
