"""--listen hands held sockets to COMMAND by systemd socket activation (fds from 3, LISTEN_FDS,
LISTEN_FDNAMES, LISTEN_PID = COMMAND's pid), consumed by real programs."""
import json
import socket
import subprocess
import textwrap
import urllib.request

import portsafe_testlib as tl
from run_helpers import PYTHON, kill_group, start, wait_file

CONSUMER = textwrap.dedent("""
    # A server that uses the LISTEN_FDS protocol as sd_listen_fds(3) describes it.
    import json, os, socket, sys
    assert os.environ["LISTEN_PID"] == str(os.getpid()), "LISTEN_PID is not our pid"
    n = int(os.environ["LISTEN_FDS"])
    names = os.environ["LISTEN_FDNAMES"].split(":")
    socks = [socket.socket(fileno=3 + i) for i in range(n)]
    info = [{"name": names[i], "type": "tcp" if s.type == socket.SOCK_STREAM else "udp",
             "port": s.getsockname()[1], "inheritable": os.get_inheritable(3 + i)} for i, s in enumerate(socks)]
    with open(sys.argv[1] + ".tmp", "w") as f:
        json.dump(info, f)
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    for s in socks:
        if s.type == socket.SOCK_STREAM:
            conn, _ = s.accept()
            conn.sendall(b"tcp:" + conn.recv(100))
            conn.close()
        else:
            data, peer = s.recvfrom(100)
            s.sendto(b"udp:" + data, peer)
""")


def test_python_consumer_gets_tcp_and_udp_sockets(ps):
    script = ps.tmp / "consumer.py"
    script.write_text(CONSUMER)
    ready = ps.tmp / "ready.json"
    proc = start(ps, ["--print", "--port", "other", "--listen", "web", "--listen", "dns/udp", "--",
                      PYTHON, str(script), str(ready)])
    try:
        assert wait_file(ready), "consumer never became ready"
        info = json.loads(ready.read_text())
        assert [(i["name"], i["type"]) for i in info] == [("web", "tcp"), ("dns", "udp")]
        with socket.create_connection(("127.0.0.1", info[0]["port"]), timeout=10) as c:
            c.sendall(b"hello")
            assert c.recv(100) == b"tcp:hello"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(10)
            u.sendto(b"hi", ("127.0.0.1", info[1]["port"]))
            assert u.recvfrom(100)[0] == b"udp:hi"
        assert proc.wait(timeout=20) == 0
        printed = proc.stderr.read()
        assert f"web={info[0]['port']}" in printed and f"dns={info[1]['port']}/udp" in printed
    finally:
        kill_group(proc)


def test_gunicorn_serves_on_the_passed_socket(ps):
    # gunicorn accepts systemd socket activation (it checks LISTEN_PID itself).
    app = ps.tmp / "app.py"
    app.write_text(textwrap.dedent("""
        import os
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [("served " + os.environ.get("PORTSAFE_JOB", "")).encode()]
    """))
    proc = start(ps, ["--print", "--job", "gunicorn-job", "--listen", "web", "--",
                      PYTHON, "-m", "gunicorn", "--chdir", str(ps.tmp), "--workers", "1", "app:app"],
                 stderr=subprocess.PIPE)
    try:
        port = int(proc.stderr.readline().strip().split("=")[1])

        def fetch():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    return r.read().decode()
            except OSError:
                return None

        assert tl.wait_for(fetch, timeout=20, interval=0.1) == "served gunicorn-job"
    finally:
        kill_group(proc)
