"""A static Go program (CGO_ENABLED=0: raw syscalls, no preload library sees them) serving on the
hard-coded :8080 and dialing 127.0.0.1:8080, in two jobs at once, while an outsider holds 8080:
each client reaches its own job's server. bpf mode only: the shim never sees a static binary's calls
(test_static_binary_shim_mode.py proves shim mode leaves it alone)."""
import pytest

import virtuallib as vl


@pytest.mark.parametrize("mode", ["bpf"], indirect=True)
def test_static_go_jobs_each_reach_their_own_8080(ps, mode, barrier):
    go_echo = vl.built_program("virtual_go_echo")
    outsider = vl.Outsider(8080)
    try:
        with vl.started_jobs() as jobs:
            for i in ("a", "b"):
                jobs[i] = vl.virtual_run(ps, mode, f"go-{i}", ["8080"], [go_echo, i, barrier, "8080"])
            with vl.jobs_at_barrier(jobs, barrier):
                assert vl.ask(8080) == "outsider"
            results = {i: vl.result_of(proc) for i, proc in jobs.items()}
    finally:
        outsider.close()
    for i, seen in results.items():
        assert seen["reply"] == i, f"Go job {i}'s client reached {seen['reply']!r}"
        assert seen["server_sockname"] == 8080 and seen["client_peername"] == 8080, seen
    assert results["a"]["real_port"] != results["b"]["real_port"]
