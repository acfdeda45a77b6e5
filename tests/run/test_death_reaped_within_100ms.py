"""Issue 13: reaping within 100 ms of a death, not at the one-second sweep. portsafed watches the
pidfd of every process a table entry depends on, so
- a SIGKILLed server's used port is free in the table right after its death, and
- a job's lingering picks are free right after the job (its launcher, the leader) is SIGKILLed.
Each is measured five times, from kill() to the slot reading "free" (polled every 0.5 ms). The
issue's 100 ms is asserted on the median, and every trial must beat half the sweep's period:
reaping by the one-second sweep alone would pass that with a probability under 1%."""
import os
import signal
import socket
import statistics
import time

import portsafe_testlib as tl
from run_helpers import PYTHON, kill_group, start

RANGE = (30000, 30063)
HOLDER = os.path.join(os.path.dirname(__file__), "port_holder.py")
TRIALS = 5


def time_until_free(table, port, kill):
    kill()
    began = time.monotonic()
    while table.state(port) != "free":
        assert time.monotonic() - began < 5, f"port {port} still {table.state(port)} 5 s after the death"
        time.sleep(0.0005)
    return (time.monotonic() - began) * 1000


def launch(ps, *args):
    job = start(ps, ["--job", "holder", "--", PYTHON, HOLDER, *args])
    line = job.stdout.readline()
    assert line, job.communicate(timeout=10)
    pid, port = map(int, line.split())
    return job, pid, port


def report(what, times):
    print(f"{what}: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms "
          f"({', '.join(f'{t:.1f}' for t in times)})")
    assert statistics.median(times) < 100, times
    assert max(times) < 500, times


def test_a_sigkilled_servers_used_port_is_free_within_100_ms(ps):
    ps.set_range(*RANGE)
    times = []
    for _ in range(TRIALS):
        job, pid, port = launch(ps)
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            assert job.stdout.readline().strip() == "served"
            table = tl.Table(ps.runtime_dir)
            assert table.state(port) == "bound"
            time.sleep(0.1)  # the supervisor has seen the claim by now (it looks every 20 ms)
            times.append(time_until_free(table, port, lambda: os.kill(pid, signal.SIGKILL)))
        finally:
            kill_group(job)
    report("SIGKILLed server's port freed", times)


def test_a_sigkilled_jobs_lingering_pick_is_free_within_100_ms(ps):
    ps.set_range(*RANGE)
    times = []
    for _ in range(TRIALS):
        job, _, port = launch(ps, "linger")
        try:
            table = tl.Table(ps.runtime_dir)
            assert table.state(port) == "linger"
            time.sleep(0.1)
            times.append(time_until_free(table, port, lambda: os.killpg(job.pid, signal.SIGKILL)))
        finally:
            kill_group(job)
    report("SIGKILLed job's linger freed", times)
