"""Inside the job every address the program reads back says the virtual port -- getsockname of the
server and of the accepted connection, getpeername of the client (TCP), the sender recvfrom names
(UDP) -- though the real port is another one: from outside the job the server answers on the real
port (PORTSAFE_REAL_PORT_8080, the one `portsafe status` names), and 8080 itself is not the job's."""
import json

import virtuallib as vl
import portsafe_testlib as tl


def test_getsockname_and_getpeername_say_8080(ps, mode, barrier):
    job = vl.virtual_run(ps, mode, "names", ["8080"], [tl.PYTHON, vl.ECHO_JOB, "--id", "names", "--barrier", barrier])
    with vl.jobs_at_barrier({"names": job}, barrier):
        pass
    seen = vl.result_of(job)
    assert seen["reply"] == "names"
    assert seen["server_sockname"] == 8080, seen
    assert seen["accepted_sockname"] == 8080, seen
    assert seen["client_peername"] == 8080, seen
    assert seen["real_port"] not in (0, 8080)


def test_udp_sender_is_named_by_its_virtual_port(ps, mode, barrier):
    job = vl.virtual_run(ps, mode, "udp-names", ["5353/udp"],
                         [tl.PYTHON, vl.ECHO_JOB, "--id", "u", "--barrier", barrier, "--port", "5353", "--proto", "udp"])
    with vl.jobs_at_barrier({"u": job}, barrier):
        pass
    seen = vl.result_of(job)
    assert seen["reply"] == "u"
    assert seen["reply_from_port"] == 5353, seen
    assert seen["server_sockname"] == 5353, seen


def test_the_server_listens_on_the_real_port(ps, mode, barrier):
    job = vl.virtual_run(ps, mode, "real", ["8080"], [tl.PYTHON, vl.ECHO_JOB, "--id", "real", "--barrier", barrier])
    try:
        with vl.jobs_at_barrier({"real": job}, barrier):
            # The job's server: found from outside at the real port the status shows, not at 8080.
            status = ps.run([ps.program("portsafe"), "status", "--json"])
            rows = [r for r in json.loads(status.stdout) if r.get("virtual_port") == 8080]
            assert len(rows) == 1, status.stdout
            real = rows[0]["port"]
            assert vl.ask(real) == "real"
            assert not tl.port_is_bindable(real)
            # (reuse: an earlier test's TIME_WAIT on 8080 is no listener)
            assert tl.port_is_bindable(8080, reuse=True), "8080 itself is taken outside the job"
        assert vl.result_of(job)["real_port"] == real
    finally:
        vl.kill_quietly(job)
