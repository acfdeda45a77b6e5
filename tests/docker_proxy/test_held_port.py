"""Serving a port a job holds: the proxy finds the job's supervisor (PORTSAFE_RUNTIME_DIR here),
takes a bound socket over SCM_RIGHTS, labels the port "NAME -> container" for `portsafe status`
and puts the name back when it stops."""
import socket

from proxy_harness import (EchoHandler, held_job, mapping_args, port_status, running_proxy, tcp_backend,
                           tcp_exchange, udp_echo_backend, udp_exchange)
import portsafe_testlib


def test_tcp_socket_comes_from_the_supervisor(ps):
    env = dict(ps.env, PORTSAFE_LOG="info")
    with held_job(ps, "web") as job, tcp_backend(EchoHandler) as (cip, cport):
        with running_proxy(mapping_args("tcp", job.port, cip, cport), env) as p:
            assert "socket from the supervisor" in p.stderr()
            assert tcp_exchange("127.0.0.1", job.port, b"held") == b"held"
            entry = port_status(ps, job.port)
            assert entry is not None and entry["state"] == "held"
            assert entry["label"] == f"web -> {cip}:{cport}"
        # Stopped: the job still holds the port, under its own name again.
        assert portsafe_testlib.wait_for(lambda: (port_status(ps, job.port) or {}).get("label") == "web")
        assert not portsafe_testlib.port_is_bindable(job.port)


def test_udp_socket_comes_from_the_supervisor(ps):
    env = dict(ps.env, PORTSAFE_LOG="info")
    with held_job(ps, "dns", proto="udp") as job, udp_echo_backend() as (cip, cport):
        with running_proxy(mapping_args("udp", job.port, cip, cport), env) as p:
            assert "socket from the supervisor" in p.stderr()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
                data, source = udp_exchange(c, ("127.0.0.1", job.port), b"query")
                assert data.endswith(b":query") and source == ("127.0.0.1", job.port)
            assert (port_status(ps, job.port, "udp") or {}).get("label") == f"dns -> {cip}:{cport}"


def test_specific_host_ip_is_bound_by_the_supervisor(ps):
    env = dict(ps.env, PORTSAFE_LOG="info")
    with held_job(ps, "api") as job, tcp_backend(EchoHandler) as (cip, cport):
        with running_proxy(mapping_args("tcp", job.port, cip, cport, host_ip="127.0.0.1"), env) as p:
            assert "socket from the supervisor" in p.stderr()
            assert tcp_exchange("127.0.0.1", job.port, b"local") == b"local"


def test_port_nobody_holds_is_bound_by_the_proxy_itself(ps):
    env = dict(ps.env, PORTSAFE_LOG="info")
    port = portsafe_testlib.ephemeral_range()[0] - 1
    with tcp_backend(EchoHandler) as (cip, cport):
        with running_proxy(mapping_args("tcp", port, cip, cport), env) as p:
            assert "socket from its own bind" in p.stderr()
            assert tcp_exchange("127.0.0.1", port, b"own") == b"own"


def test_supervisor_found_through_the_tables_without_runtime_dir(ps):
    """dockerd's environment has no PORTSAFE_RUNTIME_DIR: the proxy scans /dev/shm/portsafe-*."""
    env = {k: v for k, v in ps.env.items() if k != "PORTSAFE_RUNTIME_DIR"}
    env["PORTSAFE_LOG"] = "info"
    with held_job(ps, "web") as job, tcp_backend(EchoHandler) as (cip, cport):
        with running_proxy(mapping_args("tcp", job.port, cip, cport), env) as p:
            assert f"held by the supervisor at {ps.runtime_dir}/portsafed.sock" in p.stderr()
            assert tcp_exchange("127.0.0.1", job.port, b"scanned") == b"scanned"
