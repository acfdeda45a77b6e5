"""A job launched just as the supervisor exits for idleness (its connection queued before the
socket went away) is refused by the exiting supervisor and carried to a fresh one: portsafe-run
succeeds, and its port stays held after the old supervisor is gone. The job is launched only
once its connection really waits in the stopped supervisor's listen queue, and portsafe-run's
debug log shows the refusal it met."""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "supervisor"))

from portsafe_testlib import first_line, launch_held_job, port_is_bindable, queued_connections, wait_for  # noqa: E402
from supervisor_wire import process_alive, start_supervisor  # noqa: E402


def test_launch_queued_at_idle_exit_is_held_by_a_fresh_supervisor(ps):
    socket_path = start_supervisor(ps, "--idle-timeout", "2")
    old = ps.supervisor_pid()
    os.kill(old, signal.SIGSTOP)
    try:
        # Stopped, its idle time runs out and its one-second timer fires: when it continues, it
        # begins exiting in the same turn that accepts the job below, before reading its request.
        time.sleep(3.5)
        job = launch_held_job(ps, "a", env={**ps.env, "PORTSAFE_LOG": "debug"})
        # Its connection waits in the stopped supervisor's listen queue (the socket is not yet
        # unlinked: the supervisor has not run since its idle time ran out).
        assert wait_for(lambda: queued_connections(socket_path) >= 1, timeout=15), "portsafe-run never connected"
    finally:
        os.kill(old, signal.SIGCONT)
    try:
        port = int(first_line(job))
        assert wait_for(lambda: not process_alive(old), timeout=15), "the old supervisor did not exit"
        new = ps.supervisor_pid()
        assert new and new != old
        assert job.poll() is None, job.stderr.read()
        # Held by the job through the fresh supervisor: a thief cannot bind it.
        assert not port_is_bindable(port)
        out = ps.run([ps.program("portsafe"), "status", "--json"])
        held = [e for e in json.loads(out.stdout) if e["port"] == port]
        assert held and held[0]["state"] == "held", out.stdout
    finally:
        job.terminate()
        job.wait(timeout=30)
    # The exiting supervisor really refused the queued job (and portsafe-run went to a fresh one).
    assert "the supervisor is exiting; reconnecting to a fresh one" in job.stderr.read()
