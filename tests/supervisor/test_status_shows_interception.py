"""`portsafe status` says which interception each live job has: seccomp (every binary) or preload
(the shim only), in --json per row and on the table's last line."""
import json
import textwrap

import pytest

from portsafe_testlib import PYTHON

# Inside the job: bind a port (through the shim), then ask portsafe status about it.
INSIDE = textwrap.dedent("""
    import socket, subprocess, sys
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    for args in (["status", "--json"], ["status"]):
        print(subprocess.run([sys.argv[1]] + args, capture_output=True, text=True, check=True).stdout)
        print("=====")
""")


@pytest.mark.parametrize("mode", ["seccomp", "preload"])
def test_status_names_each_jobs_interception(ps, mode):
    job = f"status-{mode}"
    out = ps.run([ps.program("portsafe-run"), "--job", job, "--intercept", mode, "--", PYTHON, "-c", INSIDE,
                  ps.program("portsafe")])
    assert out.returncode == 0, out.stderr
    as_json, as_text = out.stdout.split("=====")[:2]
    rows = [r for r in json.loads(as_json) if r["job"] == job]
    assert rows, as_json
    assert all(r["intercept"] == mode for r in rows), rows
    last = as_text.strip().splitlines()[-1]
    assert f"interception: {job} {mode}" in last, last
