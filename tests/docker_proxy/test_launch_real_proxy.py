"""PORTSAFE_DOCKER_PROXY=/path: portsafe-docker-proxy obtains the socket (here: from the job's
supervisor) and execs that docker-proxy with it as fd 4 and -use-listen-fd; fd 3 passes through
so the real proxy reports to dockerd itself."""
import json
import os
import socket
import stat

from proxy_harness import (EchoHandler, held_job, mapping_args, proxy_program, running_proxy, start_proxy,
                           tcp_backend, tcp_exchange)
import portsafe_testlib

FAKE_PROXY = r'''#!/usr/bin/python3
# A docker-proxy 28+ stand-in: records what it was given, reports ready on fd 3, serves fd 4.
import json, os, socket, sys
info = {"argv": sys.argv[1:], "env_has_docker_proxy": "PORTSAFE_DOCKER_PROXY" in os.environ}
s = socket.socket(fileno=4)
info["type"] = s.type.name
info["port"] = s.getsockname()[1]
info["listening"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
with open(os.environ["FAKE_PROXY_REPORT"], "w") as f:
    json.dump(info, f)
os.write(3, b"0\n")
os.close(3)
while True:
    conn, _ = s.accept()
    with conn:
        conn.sendall(b"fake:" + conn.recv(100))
'''


def test_real_proxy_gets_the_held_socket_as_fd4(ps, tmp_path):
    fake = tmp_path / "docker-proxy"
    fake.write_text(FAKE_PROXY)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    report = tmp_path / "report.json"
    env = dict(ps.env, PORTSAFE_DOCKER_PROXY=str(fake), FAKE_PROXY_REPORT=str(report))
    with held_job(ps, "web") as job:
        with running_proxy(mapping_args("tcp", job.port, "127.0.0.2", 8080), env) as p:
            info = json.loads(report.read_text())
            assert info["argv"] == ["-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", str(job.port),
                                    "-container-ip", "127.0.0.2", "-container-port", "8080", "-use-listen-fd"]
            assert info["type"] == "SOCK_STREAM" and info["port"] == job.port and info["listening"]
            assert not info["env_has_docker_proxy"]  # never launches itself again
            # The same process now runs the real proxy, serving the held port.
            with socket.create_connection(("127.0.0.1", job.port), timeout=5) as c:
                c.sendall(b"hi")
                assert c.recv(100) == b"fake:hi"
            assert "python" in os.readlink(f"/proc/{p.proc.pid}/exe")


def test_portsafe_docker_proxy_as_the_real_proxy(ps):
    """A docker-proxy that supports -use-listen-fd (ours) serves the handed-over socket."""
    env = dict(ps.env, PORTSAFE_DOCKER_PROXY=proxy_program(), PORTSAFE_LOG="info")
    with held_job(ps, "web") as job, tcp_backend(EchoHandler) as (cip, cport):
        with running_proxy(mapping_args("tcp", job.port, cip, cport), env) as p:
            assert "socket from fd 4 (-use-listen-fd)" in p.stderr()
            assert tcp_exchange("127.0.0.1", job.port, b"relayed") == b"relayed"


def test_missing_real_proxy_fails_on_fd3(ps, tmp_path):
    env = dict(ps.env, PORTSAFE_DOCKER_PROXY=str(tmp_path / "nonexistent"))
    p = start_proxy(mapping_args("tcp", portsafe_testlib.ephemeral_range()[0] - 2, "127.0.0.2", 80), env)
    assert p.proc.wait(timeout=10) == 1
    assert p.status.startswith("1\n") and "PORTSAFE_DOCKER_PROXY" in p.status, p.status
