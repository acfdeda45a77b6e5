"""A served UDP port admits no co-binder: once portsafe-docker-proxy serves a held UDP port, another
process binding the same port with SO_REUSEADDR (which would receive the datagrams of new
clients: the last bound socket wins) is refused, as Debian's docker-proxy refuses it. Debian's
docker-proxy and dockerd's own listener cannot serve a held UDP port at all
(test_publish.py::test_udp_refused_without_portsafe_proxy)."""
import errno
import socket

import pytest

from dockerd_harness import docker_job, udp_echo, wait_served

DOCKERD_MODES = ("portsafe",)  # only portsafe-docker-proxy serves held UDP ports


def cobind(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            assert e.errno == errno.EADDRINUSE, e
            return False
        return True


@pytest.mark.parametrize("publish", ["{{web}}:80/udp", "127.0.0.1:{{web}}:80/udp"])
def test_reuseaddr_cobinder_refused(ps, engine, publish):
    with docker_job(ps, "web/udp", publish) as job:
        for round_ in range(2):  # the first proxy, then the one after a restart
            assert wait_served(job.port, proto="udp")
            for host in ("0.0.0.0", "127.0.0.1", "::"):
                assert not cobind(host, job.port), f"round {round_}: a SO_REUSEADDR bind on {host} shares the port"
            assert udp_echo("127.0.0.1", job.port, b"still mine") == b"still mine"
            engine.docker("restart", "-t", "1", "c1")
