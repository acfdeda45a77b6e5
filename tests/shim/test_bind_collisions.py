"""The collision experiment of issue 3. In this test's private network namespace the kernel's
ephemeral range is made tiny (16 ports) and several jobs of several processes each repeat the
bind-0 / close / re-bind idiom. Bare, they steal each other's numbers and fail (asserted, or the
experiment proves nothing); under the shim with a portsafe range only a few times the number of
workers, nothing fails and nothing falls back to the kernel."""
import contextlib
import json
import os
import subprocess

import pytest

import portsafe_testlib
import shimlib

JOBS = 3
WORKERS_PER_JOB = 3
ROUNDS = 120
EPHEMERAL = (40000, 40015)
RANGE = (30000, 30026)  # 27 ports: three per worker
WORKER = os.path.join(os.path.dirname(__file__), "collision_worker.py")


@pytest.fixture
def tiny_ephemeral_range():
    if not portsafe_testlib.in_private_netns():
        pytest.skip("needs a private network namespace (run through ctest) to change ip_local_port_range")
    path = "/proc/sys/net/ipv4/ip_local_port_range"
    with open(path) as f:
        saved = f.read()
    with open(path, "w") as f:
        f.write(f"{EPHEMERAL[0]} {EPHEMERAL[1]}")
    yield
    with open(path, "w") as f:
        f.write(saved)


def run_jobs(ps, preload):
    """Starts every worker at once; returns their reports (one dict per worker)."""
    workers = []
    with contextlib.ExitStack() as stack:
        for job in range(JOBS):
            job_id = stack.enter_context(shimlib.job_leader())
            env = ps.preload_env(PORTSAFE_JOB_ID=job_id, PORTSAFE_JOB=f"job{job}") if preload else dict(ps.env)
            for worker in range(WORKERS_PER_JOB):
                seed = job * 100 + worker
                workers.append(subprocess.Popen([shimlib.PYTHON, WORKER, str(ROUNDS), str(seed)], env=env,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        reports = []
        for proc in workers:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            reports.append(json.loads(out))
    return reports


def test_bare_workers_collide_and_shimmed_workers_never_do(ps, tiny_ephemeral_range):
    ps.set_range(*RANGE)
    bare = run_jobs(ps, preload=False)
    bare_failures = sum(r["failures"] for r in bare)
    assert bare_failures > 0, "the bare run showed no collision: the experiment is void"

    shimmed = run_jobs(ps, preload=True)
    failures = sum(r["failures"] for r in shimmed)
    ports = [p for r in shimmed for p in r["ports"]]
    print(f"bare: {bare_failures} failed rounds of {JOBS * WORKERS_PER_JOB * ROUNDS}; with the shim: {failures}")
    assert failures == 0
    assert len(ports) == JOBS * WORKERS_PER_JOB * ROUNDS
    assert all(shimlib.in_range(p, RANGE) for p in ports), "a port came from the kernel, not the range"
    counters = shimlib.Table(ps.runtime_dir).counters()
    assert counters["fallbacks"] == 0 and counters["full_range_events"] == 0, counters
