"""A real Go test binary (`go test -c` of tests/intercept/workers/httpserver, which serves with
net/http/httptest on a port-0 listener) passes under `portsafe-run --intercept seccomp`, started
by a dynamic shell as `go test` would be, and its server's port is a pick from the job's range."""
import os
import shlex

import interceptlib as il

RANGE = (31000, 31019)


def test_go_test_http_server_port_is_in_the_job_range(ps):
    ps.set_range(*RANGE)
    test_binary = il.built_program("intercept_go_http_test")
    port_file = str(ps.tmp / "port")
    env = dict(ps.env, HTTPSERVER_PORT_FILE=port_file)
    script = f"{shlex.quote(test_binary)} -test.v -test.count=1"
    out = ps.run([ps.program("portsafe-run"), "--intercept", "seccomp", "--job", "gotest", "--", "sh", "-c", script],
                 env=env, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "--- PASS: TestGreetingServer" in out.stdout, out.stdout
    assert os.path.exists(port_file), out.stdout
    with open(port_file) as f:
        port = int(f.read())
    assert RANGE[0] <= port <= RANGE[1], f"httptest's port {port} is the kernel's, not a pick from {RANGE}"
    assert il.table_counters(ps)["picks"] >= 1
