"""The installed shim preloaded by hand (no portsafe-run) with PORTSAFE_VIRTUAL set: two jobs give
8080 different real ports and each client reaches its own job's server while an outsider has bound
8080; a malformed list earns one warning and rewrites nothing (the server binds its port itself)."""
import subprocess

import virtuallib as vl
import portsafe_testlib as tl

REAL = {"a": 24301, "b": 24302}


# Without PORTSAFE_JOB_ID each preloaded process leads a job of its own.
def preloaded_job(ps, job_id, virtual, barrier, port=8080):
    env = ps.preload_env(PORTSAFE_VIRTUAL=virtual, PORTSAFE_JOB=f"hand-{job_id}")
    return subprocess.Popen([tl.PYTHON, vl.ECHO_JOB, "--id", job_id, "--barrier", barrier, "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_preloaded_jobs_each_reach_their_own_8080(ps, barrier):
    outsider = vl.Outsider(8080)
    try:
        with vl.started_jobs() as jobs:
            for i in ("a", "b"):
                jobs[i] = preloaded_job(ps, i, f"8080/tcp={REAL[i]}", barrier)
            with vl.jobs_at_barrier(jobs, barrier):
                assert vl.ask(8080) == "outsider"
                for i, real in REAL.items():
                    assert vl.ask(real) == i, f"job {i}'s server is not on its real port {real}"
            results = {i: vl.result_of(proc) for i, proc in jobs.items()}
    finally:
        outsider.close()
    for i, seen in results.items():
        assert seen["reply"] == i, f"job {i}'s client reached {seen['reply']!r}"
        assert seen["server_sockname"] == 8080 and seen["client_peername"] == 8080, seen


def test_a_malformed_list_warns_once_and_rewrites_nothing(ps, barrier):
    # 8090: the other test's connections to 8080 leave TIME_WAIT there (echo_job binds without reuse)
    job = preloaded_job(ps, "m", "8090/tcp=twenty", barrier, port=8090)
    try:
        with vl.jobs_at_barrier({"m": job}, barrier):
            assert vl.ask(8090) == "m", "the server did not bind 8090 itself"
        out, err = job.communicate(timeout=60)
    finally:
        vl.kill_quietly(job)
    assert job.returncode == 0, err
    warnings = [line for line in err.splitlines() if "PORTSAFE_VIRTUAL" in line]
    assert len(warnings) == 1, err
    assert "ignoring PORTSAFE_VIRTUAL=8090/tcp=twenty" in warnings[0] and "'8090/tcp=twenty'" in warnings[0], err
