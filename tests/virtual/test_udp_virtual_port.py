"""UDP: two jobs at once each serve on 5353/udp and ask LOOPBACK:5353 (IPv4 and IPv6); each gets its
own job's answer, which comes from port 5353 as far as the client can tell (recvfrom), while an
outsider has bound LOOPBACK:5353/udp itself."""
import socket

import pytest

import virtuallib as vl
import portsafe_testlib as tl


@pytest.mark.parametrize("family", ["4", "6"])
def test_udp_jobs_each_reach_their_own_5353(ps, mode, barrier, family):
    outsider = vl.Outsider(5353, proto="udp", family=socket.AF_INET6 if family == "6" else socket.AF_INET)
    loopback = "::1" if family == "6" else "127.0.0.1"
    try:
        with vl.started_jobs() as jobs:
            for i in ("a", "b"):
                jobs[i] = vl.virtual_run(ps, mode, f"udp-{i}", ["5353/udp"],
                                         [tl.PYTHON, vl.ECHO_JOB, "--id", i, "--barrier", barrier, "--port", "5353",
                                          "--proto", "udp", "--family", family])
            with vl.jobs_at_barrier(jobs, barrier):
                assert vl.ask(5353, "udp", host=loopback) == "outsider"
            results = {i: vl.result_of(proc) for i, proc in jobs.items()}
    finally:
        outsider.close()
    for i, seen in results.items():
        assert seen["reply"] == i, f"job {i}'s datagram reached {seen['reply']!r}"
        assert seen["reply_from_port"] == 5353, seen
        assert seen["server_sockname"] == 5353, seen
        assert seen["real_port"] not in (0, 5353)
    assert results["a"]["real_port"] != results["b"]["real_port"]
