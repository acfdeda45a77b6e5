"""Issue 13: a crowded range never turns into collisions. 32 workers of one job, in this test's
private network namespace with a 64-port ephemeral range and a 128-port PORTSAFE_RANGE, each do
bind 0 / close / re-bind / listen / close 100 times. Every pick lingers, so the range is full of
lingers within the first 128 picks: the oldest lingers must give way to new picks rather than
the picks falling back to the kernel (whose 64 ports the workers would steal from each other:
before issue 13, 685 of 3200 re-binds failed so). Every pick must come from the range."""
import json

import pytest

import portsafe_testlib as tl
from run_helpers import PYTHON, run_prog, set_ephemeral_range

WORKERS, ROUNDS = 32, 100
EPHEMERAL = (40000, 40063)
RANGE = (30000, 30127)
JOB = __file__.replace("test_listen_only_churn.py", "listen_only_job.py")


@pytest.fixture
def small_ephemeral_range():
    if not tl.in_private_netns():
        pytest.skip("needs a private network namespace (run through ctest) to change ip_local_port_range")
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        saved = f.read().split()
    set_ephemeral_range(*EPHEMERAL)
    yield
    set_ephemeral_range(*saved)


def run_workload(ps):
    command = [run_prog(ps), "--job", "churn", "--", PYTHON, JOB, str(WORKERS), str(ROUNDS)]
    out = ps.run(command, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_listen_only_churn_never_fails_under_portsafe_run(ps, small_ephemeral_range):
    ps.set_range(*RANGE)
    wrapped = run_workload(ps)
    counters = tl.Table(ps.runtime_dir).counters()
    print(f"under portsafe-run: {wrapped['failures']} of {WORKERS * ROUNDS} rounds failed {wrapped['errors']}; "
          f"counters {counters}")
    assert wrapped["failures"] == 0, wrapped["errors"]
    assert len(wrapped["ports"]) == WORKERS * ROUNDS
    assert all(tl.in_range(p, RANGE) for p in wrapped["ports"]), "a pick came from the kernel"
    assert counters["fallbacks"] == 0 and counters["full_range_events"] == 0, counters
    # The range really was full of lingers: picks took lingers over.
    assert counters["lingers_given_way"] + counters["young_lingers_given_way"] > 0, counters
