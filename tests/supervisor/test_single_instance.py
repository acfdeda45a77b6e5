"""One supervisor per runtime root: concurrent starts end with one; a second start exits 0
quietly; a supervisor killed with SIGKILL is replaced by a clean start that holds running
jobs' ports again and reaps ended jobs' holds."""
import json
import os
import signal
import subprocess

from portsafe_testlib import PYTHON, port_is_bindable, wait_for
from supervisor_wire import TCP, Client, process_alive, start_supervisor


def test_concurrent_starts_end_with_one_supervisor(ps):
    starters = [subprocess.Popen([ps.program("portsafed"), "--runtime-dir", ps.runtime_dir], env=ps.env,
                                 stderr=subprocess.PIPE, text=True) for _ in range(6)]
    for starter in starters:
        assert starter.wait(timeout=30) == 0
    socket_path = os.path.join(ps.runtime_dir, "portsafed.sock")
    assert wait_for(lambda: ps.supervisor_pid() is not None)
    pid = ps.supervisor_pid()
    assert Client(socket_path).ping() == pid
    supervisors = [p for p in os.listdir("/proc") if p.isdigit() and _is_supervisor_of(int(p), ps.runtime_dir)]
    assert supervisors == [str(pid)]


def _is_supervisor_of(pid, root):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return False
    return args[0].endswith(b"portsafed") and root.encode() in args and process_alive(pid)


def test_second_start_exits_zero_and_leaves_the_first(ps):
    start_supervisor(ps)
    first = ps.supervisor_pid()
    out = ps.run([ps.program("portsafed"), "--runtime-dir", ps.runtime_dir, "--foreground"])
    assert out.returncode == 0
    assert ps.supervisor_pid() == first


def test_restart_after_sigkill_holds_a_running_jobs_ports_again(ps):
    socket_path = start_supervisor(ps)
    client = Client(socket_path)
    client.open_job("ci")  # led by this test process, which keeps running
    ports = client.reserve([("web", TCP, 0)])
    old = ps.supervisor_pid()
    os.kill(old, signal.SIGKILL)
    assert wait_for(lambda: not process_alive(old))
    client.close()
    socket_path = start_supervisor(ps)
    assert ps.supervisor_pid() != old
    # Held again for the job (its leader lives) until it comes back for the same number.
    assert not port_is_bindable(ports["web"]), "the running job's port was not held again"
    again = Client(socket_path)
    again.open_job("ci")
    assert again.reserve([("web", TCP, ports["web"])]) == {"web": ports["web"]}


def test_restart_after_sigkill_reaps_the_holds_of_ended_jobs(ps):
    socket_path = start_supervisor(ps)
    leader = subprocess.Popen([PYTHON, "-c", LEADER, os.path.dirname(os.path.abspath(__file__)), socket_path],
                              stdout=subprocess.PIPE, text=True)
    port = int(leader.stdout.readline())
    old = ps.supervisor_pid()
    os.kill(old, signal.SIGKILL)
    leader.kill()
    leader.wait(timeout=30)
    assert wait_for(lambda: not process_alive(old))
    start_supervisor(ps)
    out = ps.run([ps.program("portsafe"), "status", "--json"])
    assert out.returncode == 0, out.stderr
    left = [e for e in json.loads(out.stdout) if e["port"] == port]
    assert left == [], f"the dead supervisor's hold of an ended job was not reaped at start: {left}"


# A job leader of its own: opens a job, reserves a port, prints it and waits to be killed.
LEADER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from supervisor_wire import TCP, Client
c = Client(sys.argv[2])
c.open_job("ended")
print(c.reserve([("web", TCP, 0)])["web"], flush=True)
time.sleep(60)
"""


def test_bad_usage_exits_2(ps):
    out = ps.run([ps.program("portsafed"), "--idle-timeout", "soon"])
    assert out.returncode == 2
    out = ps.run([ps.program("portsafed"), "--no-such-option"])
    assert out.returncode == 2


def test_unusable_runtime_dir_exits_1_with_one_line(ps, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    out = ps.run([ps.program("portsafed"), "--runtime-dir", str(shared), "--foreground"])
    assert out.returncode == 1
    assert len(out.stderr.strip().splitlines()) == 1
    assert "chmod 700" in out.stderr
