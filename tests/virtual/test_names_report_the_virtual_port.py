"""Inside the job, getsockname of the server (and of the accepted connection) and getpeername of the
client say 8080, though the real port is another one: from outside the job the server answers on
the real port (PORTSAFE_REAL_PORT_8080), and 8080 itself is not the job's."""
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


def test_the_server_listens_on_the_real_port(ps, mode, barrier):
    job = vl.virtual_run(ps, mode, "real", ["8080"], [tl.PYTHON, vl.ECHO_JOB, "--id", "real", "--barrier", barrier])
    with vl.jobs_at_barrier({"real": job}, barrier):
        # The job's server: found from outside at the real port the status shows, not at 8080.
        status = ps.run([ps.program("portsafe"), "status", "--json"])
        import json
        rows = [r for r in json.loads(status.stdout) if r["virtual_port"] == 8080]
        assert len(rows) == 1, status.stdout
        assert vl.ask(rows[0]["port"]) == "real"
        assert not tl.port_is_bindable(rows[0]["port"])
        # (reuse: an earlier test's TIME_WAIT on 8080 is no listener)
        assert tl.port_is_bindable(8080, reuse=True), "8080 itself is taken outside the job"
    vl.result_of(job)
