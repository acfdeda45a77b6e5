"""Shim mode, IPv6: two jobs at once serve the hard-coded port 8080 on [::1], and on [::] reached
through the v4-mapped ::ffff:127.0.0.1; each client reaches its own job's server while an outsider
has bound [::1]:8080 itself."""
import socket

import pytest

import virtuallib as vl
import portsafe_testlib as tl


@pytest.mark.parametrize("family,connect", [("6", "::1"), ("6w", "::ffff:127.0.0.1")])
def test_each_job_reaches_its_own_8080_over_ipv6(ps, barrier, family, connect):
    outsider = vl.Outsider(8080, family=socket.AF_INET6)
    try:
        jobs = {i: vl.virtual_run(ps, "shim", f"v6-{i}", ["8080"],
                                  [tl.PYTHON, vl.ECHO_JOB, "--id", i, "--barrier", barrier, "--family", family,
                                   "--connect", connect])
                for i in ("a", "b")}
        with vl.jobs_at_barrier(jobs, barrier):
            assert vl.ask(8080, host="::1") == "outsider"
        results = {i: vl.result_of(proc) for i, proc in jobs.items()}
    finally:
        outsider.close()
    for i, seen in results.items():
        assert seen["reply"] == i, f"job {i}'s client reached {seen['reply']!r}"
        assert seen["client_peername"] == 8080, seen
        assert seen["server_sockname"] == 8080, seen
