"""portsafed exits after --idle-timeout seconds without jobs or held ports, and not while a job
holds ports; the socket goes away with it, so the next client starts a new one."""
import os

from portsafe_testlib import wait_for
from supervisor_wire import TCP, Client, process_alive, start_supervisor


def test_idle_supervisor_exits_and_removes_its_socket(ps):
    socket_path = start_supervisor(ps, "--idle-timeout", "1")
    pid = ps.supervisor_pid()
    assert wait_for(lambda: not process_alive(pid), timeout=15)
    assert not os.path.exists(socket_path)
    assert ps.supervisor_pid() is None, "a clean exit empties the lock file"


def test_a_job_keeps_the_supervisor_alive(ps):
    socket_path = start_supervisor(ps, "--idle-timeout", "1")
    pid = ps.supervisor_pid()
    client = Client(socket_path)
    client.open_job("long")
    client.reserve([("web", TCP, 0)])
    # Three idle periods pass with the job open: still serving.
    assert not wait_for(lambda: not process_alive(pid), timeout=3.5)
    assert client.ping() == pid
    client.close()
    assert wait_for(lambda: not process_alive(pid), timeout=15)


def test_zero_means_never(ps):
    socket_path = start_supervisor(ps, "--idle-timeout", "0")
    pid = ps.supervisor_pid()
    assert not wait_for(lambda: not process_alive(pid), timeout=2.5)
    assert Client(socket_path).ping() == pid
