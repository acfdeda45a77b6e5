"""`python3 -m http.server 0` under the shim serves on a port from the range."""
import re
import subprocess
import urllib.request

import shimlib

RANGE = (24200, 24215)


def test_http_server_port_zero_comes_from_the_range(ps, tmp_path):
    ps.set_range(*RANGE)
    (tmp_path / "hello.txt").write_text("hello from the range\n")
    env = ps.preload_env(PYTHONUNBUFFERED=1)
    server = subprocess.Popen([shimlib.PYTHON, "-m", "http.server", "0", "--bind", "127.0.0.1"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N (http://...)"
        match = re.search(r"port (\d+)", line)
        assert match, line
        port = int(match.group(1))
        assert shimlib.in_range(port, RANGE), line
        table = shimlib.Table(ps.runtime_dir)
        assert table.state(port) == "bound"
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/hello.txt", timeout=10).read()
        assert body == b"hello from the range\n"
    finally:
        server.terminate()
        server.wait(timeout=10)
    # Killed without closing, it leaves its slot to the reaper: the next job's bind of that port
    # reclaims it (the server accepted a connection, so it is free, not lingering).
    with shimlib.job_leader() as other_job:
        again = ps.run([shimlib.PYTHON, "-c", REBIND, str(port)], env=ps.preload_env(PORTSAFE_JOB_ID=other_job))
    assert again.stdout.strip() == "ok", again.stdout + again.stderr


REBIND = """
import socket, sys
with socket.socket() as s:
    # As servers do: the connection served above left TIME_WAIT behind, which is the kernel's.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen()
print("ok")
"""
