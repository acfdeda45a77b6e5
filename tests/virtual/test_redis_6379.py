"""redis-server --port 6379 in two jobs at once: each job's redis-cli (default port 6379) sets a key
to its job's id, and after both have, reads back its own, while an outsider has bound 6379.
Both modes (redis-server and redis-cli are dynamic, so the shim rewrites them in shim mode)."""
import os
import shutil

import pytest

import virtuallib as vl


def test_redis_jobs_each_keep_their_own_6379(ps, mode, barrier, tmp_path):
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if not server or not cli:
        pytest.skip("redis is not installed (scripts/install-deps.sh installs redis-server)")
    outsider = vl.Outsider(6379)
    try:
        jobs = {}
        for i in ("a", "b"):
            directory = tmp_path / f"redis-{i}"
            directory.mkdir()
            # The ask sets the key the first time (and every time): after the barrier the other job
            # has set its own, so a shared server would answer the other id.
            ask = f"{cli} -h 127.0.0.1 set owner-once {i} nx >/dev/null && {cli} -h 127.0.0.1 get owner-once"
            jobs[i] = vl.virtual_run(ps, mode, f"redis-{i}", ["6379"],
                                     ["sh", os.path.join(vl.HERE, "programs", "serve_then_ask.sh"), i, barrier, ask,
                                      "--", server, "--port", "6379", "--save", "", "--appendonly", "no",
                                      "--dir", str(directory), "--bind", "127.0.0.1"])
        with vl.jobs_at_barrier(jobs, barrier):
            assert vl.ask(6379) == "outsider"
        results = {i: vl.result_of(proc) for i, proc in jobs.items()}
    finally:
        outsider.close()
    for i, seen in results.items():
        assert seen["reply"] == i, f"job {i}'s redis-cli read {seen['reply']!r}"
