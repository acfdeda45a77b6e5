"""SIGKILL portsafed under a running job: portsafe-run sees its connection close, starts a fresh
supervisor and holds the same port numbers for the same job again (one line says so), COMMAND
runs on, and a thief still cannot bind them. Until then the dead supervisor's holds linger for the
job, so another job's processes are refused them. The new supervisor keeps a dead one's holds
for 10 s only: past that, the ports are still held, because the hold was handed to portsafe-run's
new connection."""
import json
import os
import signal
import time

from portsafe_testlib import first_line, launch_held_job, port_is_bindable, wait_for


def holders(ps, ports):
    """{port: (state, job_id)} as `portsafe status --json` shows them."""
    out = ps.run([ps.program("portsafe"), "status", "--json"])
    assert out.returncode == 0, out.stderr
    return {e["port"]: (e["state"], e["job_id"]) for e in json.loads(out.stdout) if e["port"] in ports}


def held_by_a_new_supervisor(ps, ports, job_id, old):
    """A supervisor other than old serves, every port shows as held for job_id, and none is
    bindable (the dead supervisor's table entries still read "held": its placeholders do not)."""
    if ps.supervisor_pid() in (None, old):
        return False
    if holders(ps, ports) != {port: ("held", job_id) for port in ports}:
        return False
    return not any(port_is_bindable(port) for port in ports)


# Longer than the new supervisor's orphan grace (10 s) plus a sweep.
PAST_THE_ORPHAN_GRACE = 12


def holds_throughout(ps, ports, job_id, old, seconds):
    """True when the ports stay held for job_id by the new supervisor (and unbindable) at every
    look for `seconds`; False at the first look that finds otherwise."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if not held_by_a_new_supervisor(ps, ports, job_id, old):
            return False
        time.sleep(0.5)
    return True


def start_job(ps):
    job = launch_held_job(ps, "a", "b")
    return job, [int(p) for p in first_line(job).split()]


def stop(job):
    job.terminate()
    code = job.wait(timeout=30)
    return code, job.stderr.read()


def test_a_killed_supervisor_is_replaced_and_the_ports_held_again(ps):
    job, ports = start_job(ps)
    try:
        old = ps.supervisor_pid()
        before = holders(ps, ports)
        job_id = before[ports[0]][1]
        assert before == {port: ("held", job_id) for port in ports}, before
        os.kill(old, signal.SIGKILL)
        # The same numbers, held for the same job, by a new supervisor.
        assert wait_for(lambda: held_by_a_new_supervisor(ps, ports, job_id, old), timeout=30), holders(ps, ports)
        for port in ports:
            assert not port_is_bindable(port), f"a thief bound {port} after the supervisor was replaced"
        assert holds_throughout(ps, ports, job_id, old, PAST_THE_ORPHAN_GRACE), holders(ps, ports)
        assert job.poll() is None, "COMMAND stopped with its supervisor"
    finally:
        code, stderr = stop(job)
    assert code == 128 + signal.SIGTERM, stderr
    assert stderr.count("holds this job's ports again") == 1, stderr


def test_another_job_is_refused_the_ports_while_no_supervisor_runs(ps):
    job, ports = start_job(ps)
    try:
        old = ps.supervisor_pid()
        job_id = holders(ps, ports)[ports[0]][1]
        # portsafe-run is paused, so no new supervisor holds the ports yet: the dead one's holds
        # linger for the job, and a process of another job (the shim) is refused them.
        os.kill(job.pid, signal.SIGSTOP)
        os.kill(old, signal.SIGKILL)
        assert wait_for(lambda: not os.path.exists(f"/proc/{old}") or open(f"/proc/{old}/stat").read().split(") ")[1][0] == "Z")
        thief = ps.run(["/usr/bin/python3", "-c",
                        "import errno,socket,sys\n"
                        "for port in sys.argv[1:]:\n"
                        "    s = socket.socket()\n"
                        "    try:\n"
                        "        s.bind(('127.0.0.1', int(port))); print('bound', port)\n"
                        "    except OSError as e:\n"
                        "        print('refused' if e.errno == errno.EADDRINUSE else e, port)\n",
                        *map(str, ports)], env=ps.preload_env(), timeout=30)
        assert thief.stdout.split() == ["refused", str(ports[0]), "refused", str(ports[1])], thief.stdout + thief.stderr
        assert {state for state, _ in holders(ps, ports).values()} == {"linger"}
        os.kill(job.pid, signal.SIGCONT)
        # Then the job holds both again through a new supervisor, and COMMAND keeps running.
        assert wait_for(lambda: held_by_a_new_supervisor(ps, ports, job_id, old), timeout=30), holders(ps, ports)
        assert job.poll() is None
    finally:
        os.kill(job.pid, signal.SIGCONT)
        code, stderr = stop(job)
    assert code == 128 + signal.SIGTERM, stderr
    assert "was taken meanwhile" not in stderr and stderr.count("holds this job's ports again") == 1, stderr
