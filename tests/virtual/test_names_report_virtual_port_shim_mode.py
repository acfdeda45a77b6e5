"""Shim mode: inside the job every address the program reads back says the virtual port --
getsockname of the server and of the accepted connection, getpeername of the client (TCP), the
sender recvfrom names (UDP) -- while the kernel has the socket on the real port, where it answers
from outside the job."""
import json

import virtuallib as vl
import portsafe_testlib as tl


def test_tcp_names_say_8080(ps, barrier):
    job = vl.virtual_run(ps, "shim", "names", ["8080"], [tl.PYTHON, vl.ECHO_JOB, "--id", "names", "--barrier", barrier])
    with vl.jobs_at_barrier({"names": job}, barrier):
        pass
    seen = vl.result_of(job)
    assert seen["reply"] == "names"
    assert seen["server_sockname"] == 8080, seen
    assert seen["accepted_sockname"] == 8080, seen
    assert seen["client_peername"] == 8080, seen


def test_udp_sender_is_named_by_its_virtual_port(ps, barrier):
    job = vl.virtual_run(ps, "shim", "udp-names", ["5353/udp"],
                         [tl.PYTHON, vl.ECHO_JOB, "--id", "u", "--barrier", barrier, "--port", "5353", "--proto", "udp"])
    with vl.jobs_at_barrier({"u": job}, barrier):
        pass
    seen = vl.result_of(job)
    assert seen["reply"] == "u"
    assert seen["reply_from_port"] == 5353, seen
    assert seen["server_sockname"] == 5353, seen


def test_the_server_answers_from_outside_on_its_real_port(ps, barrier):
    job = vl.virtual_run(ps, "shim", "real", ["8080"], [tl.PYTHON, vl.ECHO_JOB, "--id", "real", "--barrier", barrier])
    try:
        with vl.jobs_at_barrier({"real": job}, barrier):
            # The job's server, found from outside at the real port `portsafe status` names.
            status = ps.run([ps.program("portsafe"), "status", "--json"])
            real = [r["port"] for r in json.loads(status.stdout) if r.get("virtual_port") == 8080]
            assert len(real) == 1, status.stdout
            assert vl.ask(real[0]) == "real"
        assert vl.result_of(job)["real_port"] == real[0]
    finally:
        vl.kill_quietly(job)
