"""`portsafe-run --handover web` says up front that the port's consumer takes the socket from the
supervisor (portsafe-docker-proxy): from reservation on, the port is closed to every other bind,
even one with SO_REUSEADDR (TCP: the supervisor holds it listening, and a client that connects
before the container runs waits in the backlog; UDP: the placeholders refuse co-binders)."""
import errno
import socket

import pytest

from dockerd_harness import IMAGE, PortThief, launched_job, tcp_echo, udp_echo, wait_served


DOCKERD_MODES = ("portsafe",)  # --handover is for portsafe-docker-proxy


@pytest.fixture
def portsafe_proxy(engine):
    return engine


def test_tcp_never_bindable_from_reservation(ps, portsafe_proxy):
    engine = portsafe_proxy
    with launched_job(ps, "web", option="--handover") as job:
        with PortThief(job.port, reuse_listen=True) as reuse_thief, PortThief(job.port, reuse_listen=False) as thief:
            early = socket.create_connection(("127.0.0.1", job.port), timeout=30)  # queued, not refused
            with early:
                engine.docker("run", "-d", "--name", "c1", "-p", f"{job.port}:80", IMAGE)
                early.sendall(b"before the container\n")
                assert early.recv(100) == b"before the container\n"
            for _ in range(2):
                engine.docker("restart", "-t", "1", "c1")
                assert wait_served(job.port)
        for t in (reuse_thief, thief):
            assert t.attempts > 100, t.attempts
            assert not t.stolen, f"{len(t.stolen)} of {t.attempts}: {t.stolen[:3]}"
        assert tcp_echo("127.0.0.1", job.port, b"end\n") == b"end\n"


def test_udp_refuses_cobinders_from_reservation(ps, portsafe_proxy):
    engine = portsafe_proxy
    with launched_job(ps, "web/udp", option="--handover") as job:
        for host in ("0.0.0.0", "127.0.0.1"):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                with pytest.raises(OSError) as refused:
                    s.bind((host, job.port))
                assert refused.value.errno == errno.EADDRINUSE
        engine.docker("run", "-d", "--name", "c1", "-p", f"{job.port}:80/udp", IMAGE)
        assert wait_served(job.port, proto="udp")
        assert udp_echo("127.0.0.1", job.port, b"handed over") == b"handed over"


def test_tcp_specific_host_ip_takes_over(ps, portsafe_proxy):
    """-p 127.0.0.1:{{web}}:80: the wildcard listeners nobody serves give way to 127.0.0.1's."""
    engine = portsafe_proxy
    with launched_job(ps, "web", option="--handover") as job:
        engine.docker("run", "-d", "--name", "c1", "-p", f"127.0.0.1:{job.port}:80", IMAGE)
        assert wait_served(job.port)
        with PortThief(job.port, reuse_listen=True) as reuse_thief:
            engine.docker("restart", "-t", "1", "c1")
            assert wait_served(job.port)
        assert reuse_thief.attempts > 100 and not reuse_thief.stolen, reuse_thief.stolen[:3]
