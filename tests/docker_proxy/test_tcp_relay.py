"""The TCP data path: real HTTP traffic, byte-exact bulk transfer, half-close in both
directions, and many concurrent connections served by one thread."""
import hashlib
import os
import selectors
import socket
import subprocess
import threading

from proxy_harness import (CollectHandler, EchoHandler, free_port, mapping_args, running_proxy, tcp_backend,
                           tcp_exchange)
import portsafe_testlib


def test_http_server_behind_the_proxy(ps, tmp_path):
    (tmp_path / "index.html").write_text("hello from the container\n")
    backend_port = free_port(host="127.0.0.2")
    server = subprocess.Popen([portsafe_testlib.PYTHON, "-m", "http.server", "--bind", "127.0.0.2", str(backend_port),
                               "-d", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def listening():
            try:
                socket.create_connection(("127.0.0.2", backend_port), timeout=1).close()
                return True
            except OSError:
                return False
        assert portsafe_testlib.wait_for(listening, timeout=10)
        port = free_port()
        with running_proxy(mapping_args("tcp", port, "127.0.0.2", backend_port), ps.env):
            # A separate client program (Debian's python3 urllib), as a browser or curl would be.
            r = subprocess.run([portsafe_testlib.PYTHON, "-c", "import sys, urllib.request; sys.stdout.write("
                                f"urllib.request.urlopen('http://127.0.0.1:{port}/index.html', timeout=10).read().decode())"],
                               capture_output=True, text=True, timeout=20)
            assert r.returncode == 0, r.stderr
            assert r.stdout == "hello from the container\n"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_bulk_transfer_is_byte_exact(ps):
    payload = os.urandom(8 * 1024 * 1024)
    port = free_port()
    with tcp_backend(EchoHandler) as (cip, cport), running_proxy(mapping_args("tcp", port, cip, cport), ps.env):
        with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
            received = []

            def reader():
                while True:
                    data = c.recv(1 << 20)
                    if not data:
                        return
                    received.append(data)

            t = threading.Thread(target=reader)
            t.start()
            c.sendall(payload)
            c.shutdown(socket.SHUT_WR)
            t.join(timeout=60)
            assert not t.is_alive()
        echoed = b"".join(received)
        assert len(echoed) == len(payload)
        assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()


def test_client_half_close_reaches_the_container(ps):
    """The container answers only after EOF: the client's shutdown(SHUT_WR) must be passed on
    while the reply direction stays open."""
    port = free_port()
    with tcp_backend(CollectHandler) as (cip, cport), running_proxy(mapping_args("tcp", port, cip, cport), ps.env):
        assert tcp_exchange("127.0.0.1", port, b"x" * 100_000) == b"got 100000\n"


def test_container_half_close_reaches_the_client(ps):
    """The container closes its write side first; the client still sends, then reads the rest."""
    port = free_port()
    backend = socket.socket()
    backend.bind(("127.0.0.2", 0))
    backend.listen(1)
    cport = backend.getsockname()[1]
    try:
        with running_proxy(mapping_args("tcp", port, "127.0.0.2", cport), ps.env):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                conn, _ = backend.accept()
                conn.settimeout(10)
                with conn:
                    conn.sendall(b"banner")
                    conn.shutdown(socket.SHUT_WR)
                    c.settimeout(10)
                    got = b""
                    while True:
                        data = c.recv(100)
                        if not data:
                            break
                        got += data
                    assert got == b"banner"  # EOF arrived after the banner
                    c.sendall(b"still talking")
                    c.shutdown(socket.SHUT_WR)
                    heard = b""
                    while True:
                        data = conn.recv(100)
                        if not data:
                            break
                        heard += data
                    assert heard == b"still talking"
    finally:
        backend.close()


def test_many_concurrent_connections(ps):
    """300 connections open at once, each echoed correctly (one thread in the proxy)."""
    count = 300
    port = free_port()
    with tcp_backend(EchoHandler) as (cip, cport), running_proxy(mapping_args("tcp", port, cip, cport), ps.env) as p:
        sel = selectors.DefaultSelector()
        socks = []
        for i in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            socks.append(s)
        # Every connection is open at this point; the proxy holds them all at once.
        assert portsafe_testlib.wait_for(lambda: len(os.listdir(f"/proc/{p.proc.pid}/fd")) >= count * 2, timeout=10)
        expected = {}
        for i, s in enumerate(socks):
            msg = f"message {i} ".encode() * 50
            expected[s] = msg
            s.sendall(msg)
            s.shutdown(socket.SHUT_WR)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, bytearray())
        done = 0
        deadline_loops = 0
        while done < count and deadline_loops < 2000:
            deadline_loops += 1
            for key, _ in sel.select(timeout=0.05):
                data = key.fileobj.recv(65536)
                if data:
                    key.data.extend(data)
                else:
                    assert bytes(key.data) == expected[key.fileobj]
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    done += 1
        assert done == count


def test_container_not_listening_closes_the_client(ps):
    """As docker-proxy: the client's connection is closed when the container refuses, and the
    proxy keeps serving the next one."""
    port = free_port()
    dead_port = free_port(host="127.0.0.2")
    with running_proxy(mapping_args("tcp", port, "127.0.0.2", dead_port), ps.env) as p:
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                c.settimeout(10)
                try:
                    assert c.recv(100) == b""
                except ConnectionResetError:
                    pass
        assert p.proc.poll() is None


def test_ipv6_mapping(ps):
    port = free_port()
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.bind(("::1", 0))
    server.listen(4)
    cport = server.getsockname()[1]

    def echo_once():
        conn, _ = server.accept()
        with conn:
            data = conn.recv(100)
            conn.sendall(b"v6:" + data)

    t = threading.Thread(target=echo_once, daemon=True)
    t.start()
    try:
        with running_proxy(mapping_args("tcp", port, "::1", cport, host_ip="::"), ps.env):
            with socket.create_connection(("::1", port), timeout=10) as c:
                c.sendall(b"hello")
                assert c.recv(100) == b"v6:hello"
    finally:
        t.join(timeout=5)
        server.close()
