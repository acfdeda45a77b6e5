"""A virtual port inside the table's range (8080 is in the default 4096-32767) is never claimed in
the table: two jobs at once both serve on it, whether the shim (a dynamic Python program) or the
seccomp tier (a static Go program) sees the bind, and `portsafe status` shows no claim on 8080."""
import json

import pytest

import virtuallib as vl
import portsafe_testlib as tl


@pytest.mark.parametrize("program", ["python", "go"])
def test_two_jobs_serve_a_virtual_port_inside_the_range(ps, mode, barrier, program):
    if program == "go" and mode == "shim":
        pytest.skip("shim mode does not virtualize static binaries (test_static_binary_shim_mode.py)")
    ps.set_range(8000, 8999)  # holds the virtual port and the real ones
    if program == "go":
        command = lambda i: [vl.built_program("virtual_go_echo"), i, barrier, "8080"]  # noqa: E731
    else:
        command = lambda i: [tl.PYTHON, vl.ECHO_JOB, "--id", i, "--barrier", barrier]  # noqa: E731
    with vl.started_jobs() as jobs:
        for i in ("a", "b"):
            jobs[i] = vl.virtual_run(ps, mode, f"in-range-{i}", ["8080"], command(i))
        with vl.jobs_at_barrier(jobs, barrier):
            status = ps.run([ps.program("portsafe"), "status", "--json"])
            rows = json.loads(status.stdout)
            assert [r for r in rows if r["port"] == 8080] == [], f"8080 itself is claimed: {status.stdout}"
            assert sorted(r["job"] for r in rows if r["virtual_port"] == 8080) == ["in-range-a", "in-range-b"]
        results = {i: vl.result_of(proc) for i, proc in jobs.items()}
    for i, seen in results.items():
        assert seen["reply"] == i, f"job {i}'s client reached {seen['reply']!r}"
        assert 8000 <= seen["real_port"] <= 8999 and seen["real_port"] != 8080
