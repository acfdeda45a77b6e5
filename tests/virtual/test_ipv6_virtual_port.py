"""IPv6: two jobs at once each serve on [::1]:8080 and connect to [::1]:8080 (and one more time to
::ffff:127.0.0.1 through a dual-stack wildcard server), each reaching its own job's server, while an
outsider has bound [::1]:8080 itself."""
import socket

import pytest

import virtuallib as vl
import portsafe_testlib as tl


@pytest.mark.parametrize("connect", ["::1", "::ffff:127.0.0.1"])
def test_ipv6_jobs_each_reach_their_own_8080(ps, mode, barrier, connect):
    outsider = vl.Outsider(8080, family=socket.AF_INET6)
    # ::ffff:127.0.0.1 reaches a dual-stack server: the job's server binds [::]:8080 then.
    family = ["--family", "6"] if connect == "::1" else ["--family", "6w"]
    try:
        with vl.started_jobs() as jobs:
            for i in ("a", "b"):
                jobs[i] = vl.virtual_run(ps, mode, f"v6-{i}", ["8080"],
                                         [tl.PYTHON, vl.ECHO_JOB, "--id", i, "--barrier", barrier, *family,
                                          "--connect", connect])
            with vl.jobs_at_barrier(jobs, barrier):
                assert vl.ask(8080, host="::1") == "outsider"
            results = {i: vl.result_of(proc) for i, proc in jobs.items()}
    finally:
        outsider.close()
    for i, seen in results.items():
        assert seen["reply"] == i, f"job {i}'s client reached {seen['reply']!r}"
        assert seen["client_peername"] == 8080 and seen["server_sockname"] == 8080, seen
