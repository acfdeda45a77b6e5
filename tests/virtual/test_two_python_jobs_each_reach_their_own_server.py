"""Two jobs at once, each a Python server on the hard-coded port 8080 and a client of it: each
client reaches its OWN job's server (the server answers with its job's id), while a process outside
every job has bound 127.0.0.1:8080 itself and keeps answering there. In both modes: bpf (the
kernel rewrites) and shim (the preload shim in each dynamic Python program rewrites)."""
import virtuallib as vl
import portsafe_testlib as tl


def test_each_job_reaches_its_own_8080_while_an_outsider_holds_it(ps, mode, barrier):
    outsider = vl.Outsider(8080)
    try:
        with vl.started_jobs() as jobs:
            for i in ("a", "b"):
                jobs[i] = vl.virtual_run(ps, mode, f"job-{i}", ["8080"],
                                         [tl.PYTHON, vl.ECHO_JOB, "--id", i, "--barrier", barrier])
            with vl.jobs_at_barrier(jobs, barrier):
                assert vl.ask(8080) == "outsider"
            results = {i: vl.result_of(proc) for i, proc in jobs.items()}
        assert vl.ask(8080) == "outsider"
    finally:
        outsider.close()
    for i, seen in results.items():
        assert seen["reply"] == i, f"job {i}'s client reached {seen['reply']!r}"
        assert seen["real_port"] not in (0, 8080)
        if mode == "shim":
            # Shim mode is the one where the launcher hands the list to the shim.
            assert seen["virtual_env"] == f"8080/tcp={seen['real_port']}", seen
        else:
            # Never in bpf mode: nothing may be rewritten twice.
            assert seen["virtual_env"] is None, seen
    assert results["a"]["real_port"] != results["b"]["real_port"]
