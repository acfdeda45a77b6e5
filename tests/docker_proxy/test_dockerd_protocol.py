"""The process protocol with dockerd, both generations: 20.10 (the proxy binds host-port) and
28+ (-use-listen-fd: dockerd's socket on fd 4), tcp and udp; "0\\n" on fd 3 once serving,
"1\\n<message>" and exit 1 on a busy port; SIGINT and SIGTERM stop it with exit 0."""
import signal
import socket

import pytest

from proxy_harness import (EchoHandler, dockerd_listen_socket, free_port, mapping_args, start_proxy,
                           tcp_backend, tcp_exchange, udp_echo_backend, udp_exchange)


def serve_once(ps, proto, generation, sig):
    port = free_port(proto)
    listen_sock = dockerd_listen_socket(proto, port) if generation == "v28" else None
    backend = tcp_backend(EchoHandler) if proto == "tcp" else udp_echo_backend()
    with backend as (cip, cport):
        args = mapping_args(proto, port, cip, cport, listen_fd=generation == "v28")
        p = start_proxy(args, ps.env, listen_sock=listen_sock)
        if listen_sock is not None:
            listen_sock.close()  # dockerd closes its copy once the proxy runs
        try:
            assert p.status == "0\n", (p.status, p.proc.poll())
            if proto == "tcp":
                assert tcp_exchange("127.0.0.1", port, b"hello") == b"hello"
            else:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
                    data, _ = udp_exchange(c, ("127.0.0.1", port), b"hello")
                    assert data.endswith(b":hello")
        finally:
            assert p.stop(sig) == 0


@pytest.mark.parametrize("generation", ["v20", "v28"])
@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_serves_and_stops_on_sigint(ps, proto, generation):
    serve_once(ps, proto, generation, signal.SIGINT)


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_sigterm_stops_with_status_zero(ps, proto):
    serve_once(ps, proto, "v20", signal.SIGTERM)


def test_busy_tcp_port_is_reported_on_fd3(ps):
    port = free_port()
    with socket.socket() as squatter:
        squatter.bind(("0.0.0.0", port))
        squatter.listen(1)
        p = start_proxy(mapping_args("tcp", port, "127.0.0.2", 80), ps.env)
        assert p.proc.wait(timeout=10) == 1
    assert p.status.startswith("1\n"), p.status
    assert f"failed to listen on 0.0.0.0:{port}" in p.status and "in use" in p.status


def test_busy_udp_port_is_reported_on_fd3(ps):
    port = free_port("udp")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("0.0.0.0", port))  # no SO_REUSEADDR: nobody else may bind it
        p = start_proxy(mapping_args("udp", port, "127.0.0.2", 53), ps.env)
        assert p.proc.wait(timeout=10) == 1
    assert p.status.startswith("1\n") and "in use" in p.status, p.status


def test_use_listen_fd_without_fd4_fails_on_fd3(ps):
    p = start_proxy(mapping_args("tcp", 8080, "127.0.0.2", 80, listen_fd=True), ps.env)
    assert p.proc.wait(timeout=10) == 1
    assert p.status.startswith("1\n") and "fd 4" in p.status, p.status


def test_use_listen_fd_with_wrong_socket_type_fails_on_fd3(ps):
    port = free_port("udp")
    udp = dockerd_listen_socket("udp", port)
    try:
        p = start_proxy(mapping_args("tcp", port, "127.0.0.2", 80, listen_fd=True), ps.env, listen_sock=udp)
        assert p.proc.wait(timeout=10) == 1
    finally:
        udp.close()
    assert "datagram" in p.status and "-proto is tcp" in p.status, p.status


def test_repeated_signals_still_exit_zero(ps):
    """dockerd may signal twice (stop, then again on shutdown): still a clean exit 0."""
    port = free_port()
    with tcp_backend(EchoHandler) as (cip, cport):
        p = start_proxy(mapping_args("tcp", port, cip, cport), ps.env)
        assert p.ready
        p.proc.send_signal(signal.SIGINT)
        p.proc.send_signal(signal.SIGINT)
        assert p.proc.wait(timeout=10) == 0
