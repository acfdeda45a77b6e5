"""`portsafe gc`: reaps dead owners' slots, with or without a supervisor; `gc --reset` is the
documented recovery from a corrupt table."""
import json
import os
import signal

from portsafe_testlib import table_shm_path, wait_for
from supervisor_wire import TCP, Client, start_supervisor


def held_ports(ps):
    out = ps.run([ps.program("portsafe"), "status", "--json"])
    assert out.returncode == 0, out.stderr
    return [e for e in json.loads(out.stdout) if e["state"] == "held"]


def test_gc_without_supervisor_reaps_a_dead_supervisors_holds(ps):
    socket_path = start_supervisor(ps)
    client = Client(socket_path)
    client.open_job("ci")
    client.reserve([("web", TCP, 0)])
    pid = ps.supervisor_pid()
    os.kill(pid, signal.SIGKILL)
    client.close()
    assert len(held_ports(ps)) == 1, "a killed supervisor leaves its holds in the table"
    out = ps.run([ps.program("portsafe"), "gc"])
    assert out.returncode == 0, out.stderr
    assert "reaped 1 slot" in out.stdout
    assert held_ports(ps) == []


def test_gc_goes_through_a_running_supervisor(ps):
    start_supervisor(ps)
    out = ps.run([ps.program("portsafe"), "gc"])
    assert out.returncode == 0, out.stderr
    assert "through the supervisor" in out.stdout


def test_corrupt_table_is_reported_and_reset_recovers(ps):
    shm = table_shm_path(ps.runtime_dir)
    with open(shm, "wb") as f:
        f.write(b"\0" * 4096)
    os.chmod(shm, 0o600)
    out = ps.run([ps.program("portsafe"), "status"])
    assert out.returncode == 1
    assert "portsafe gc --reset" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, "one clear line"
    out = ps.run([ps.program("portsafe"), "gc", "--reset"])
    assert out.returncode == 0, out.stderr
    assert not os.path.exists(shm)
    # A supervisor now starts on a fresh table and serves.
    socket_path = start_supervisor(ps)
    assert Client(socket_path).ping() == ps.supervisor_pid()


def test_reset_refuses_while_a_supervisor_uses_the_table(ps):
    start_supervisor(ps)
    out = ps.run([ps.program("portsafe"), "gc", "--reset"])
    assert out.returncode == 1
    assert "stop it first" in out.stderr
    assert os.path.exists(table_shm_path(ps.runtime_dir))
    assert wait_for(lambda: ps.supervisor_pid() is not None)
