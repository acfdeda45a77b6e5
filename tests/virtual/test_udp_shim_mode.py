"""Shim mode, UDP: two jobs at once each run a UDP server on the hard-coded port 5353 and a client
that sendto()s it; each gets its own job's answer, from port 5353 as recvfrom reports it, while an
outsider has bound 127.0.0.1:5353 itself."""
import virtuallib as vl
import portsafe_testlib as tl


def test_each_job_reaches_its_own_udp_port(ps, barrier):
    outsider = vl.Outsider(5353, proto="udp")
    try:
        jobs = {i: vl.virtual_run(ps, "shim", f"udp-{i}", ["5353/udp"],
                                  [tl.PYTHON, vl.ECHO_JOB, "--id", i, "--barrier", barrier, "--port", "5353",
                                   "--proto", "udp"])
                for i in ("a", "b")}
        with vl.jobs_at_barrier(jobs, barrier):
            assert vl.ask(5353, proto="udp") == "outsider"
        results = {i: vl.result_of(proc) for i, proc in jobs.items()}
    finally:
        outsider.close()
    for i, seen in results.items():
        assert seen["reply"] == i, f"job {i}'s client got {seen['reply']!r}"
        assert seen["reply_from_port"] == 5353, seen
        assert seen["server_sockname"] == 5353, seen
        assert seen["real_port"] not in (0, 5353)
    assert results["a"]["real_port"] != results["b"]["real_port"]
