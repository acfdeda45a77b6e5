"""The UDP data path: per-client flows, replies to the right client from the address it wrote
to, and flows that expire after the idle timeout (shortened here by a hidden variable)."""
import socket

from proxy_harness import free_port, mapping_args, running_proxy, udp_echo_backend, udp_exchange
import portsafe_testlib


def test_each_client_gets_its_own_replies(ps):
    port = free_port("udp")
    with udp_echo_backend() as (cip, cport), running_proxy(mapping_args("udp", port, cip, cport), ps.env):
        clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(5)]
        try:
            flow_ports = set()
            for round_ in range(3):
                for i, c in enumerate(clients):
                    data, _ = udp_exchange(c, ("127.0.0.1", port), f"client {i} round {round_}".encode())
                    flow_port, _, body = data.partition(b":")
                    assert body == f"client {i} round {round_}".encode()
                    flow_ports.add((i, int(flow_port)))
            # One flow (one source port towards the container) per client, kept across rounds.
            assert len(flow_ports) == len(clients)
        finally:
            for c in clients:
                c.close()


def test_reply_comes_from_the_address_the_client_used(ps):
    """With the wildcard host address, a client of 127.0.0.3 must hear back from 127.0.0.3
    (a connected UDP client drops anything else)."""
    port = free_port("udp")
    with udp_echo_backend() as (cip, cport), running_proxy(mapping_args("udp", port, cip, cport), ps.env):
        for dest in ("127.0.0.1", "127.0.0.3", "127.0.0.9"):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
                data, source = udp_exchange(c, (dest, port), b"who")
                assert source == (dest, port)
                assert data.endswith(b":who")


def test_large_datagram_passes_whole(ps):
    port = free_port("udp")
    payload = bytes(range(256)) * 200  # 51200 bytes
    with udp_echo_backend() as (cip, cport), running_proxy(mapping_args("udp", port, cip, cport), ps.env):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            data, _ = udp_exchange(c, ("127.0.0.1", port), payload)
            assert data.split(b":", 1)[1] == payload


def test_idle_flows_expire(ps):
    port = free_port("udp")
    env = dict(ps.env, PORTSAFE_DOCKER_PROXY_UDP_IDLE_MS="300")
    with udp_echo_backend() as (cip, cport), running_proxy(mapping_args("udp", port, cip, cport), env) as p:
        fd_dir = f"/proc/{p.proc.pid}/fd"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            data, _ = udp_exchange(c, ("127.0.0.1", port), b"one")
            first_flow = data.split(b":")[0]
            with_flow = len(__import__("os").listdir(fd_dir))
            # The flow's socket is closed once idle...
            assert portsafe_testlib.wait_for(lambda: len(__import__("os").listdir(fd_dir)) == with_flow - 1, timeout=10)
            # ...and the next datagram opens a new one (a new source port towards the container).
            data, _ = udp_exchange(c, ("127.0.0.1", port), b"two")
            assert data.split(b":")[0] != first_flow
            assert data.endswith(b":two")


def test_active_flow_is_kept(ps):
    port = free_port("udp")
    env = dict(ps.env, PORTSAFE_DOCKER_PROXY_UDP_IDLE_MS="60000")
    with udp_echo_backend() as (cip, cport), running_proxy(mapping_args("udp", port, cip, cport), env):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            flows = {udp_exchange(c, ("127.0.0.1", port), b"x")[0].split(b":")[0] for _ in range(20)}
            assert len(flows) == 1
