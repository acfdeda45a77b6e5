"""Shim mode's documented limit: a static binary (Go, CGO_ENABLED=0: raw syscalls) is NOT
virtualized -- no preload library sees its calls. portsafe-run says so in one line (-v), and the
program really binds 8080 itself: from outside the job, 8080 answers with its id."""
import json

import virtuallib as vl

NOTICE = "virtual ports rewritten by the shim (--virtual-mode shim): dynamic programs only"


def test_static_go_binds_the_hard_coded_port_itself(ps, barrier):
    go_echo = vl.built_program("virtual_go_echo")
    job = vl.virtual_run(ps, "shim", "static", ["8080"], [go_echo, "static", barrier, "8080"], extra=["-v"])
    try:
        with vl.jobs_at_barrier({"static": job}, barrier):
            assert vl.ask(8080) == "static", "the static server is not on 8080 itself"
        out, err = job.communicate(timeout=60)
    finally:
        vl.kill_quietly(job)
    assert job.returncode == 0, err
    assert [line for line in err.splitlines() if NOTICE in line], err
    results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert results and results[-1]["reply"] == "static", out
    assert results[-1]["server_sockname"] == 8080, out
