"""A concurrent thief never gets a held port across reserve -> proxy start -> proxy restart.

Thieves run in a loop for the whole sequence: plain binds (wildcard and loopback, TCP) and port-0
binds and outgoing connects that let the kernel choose. A thief that binds with SO_REUSEADDR and
listens looks exactly like the intended consumer to the kernel; it is kept out by the listening
socket while the proxy serves, so it runs while the proxy serves here; between two proxies the
supervisor keeps the handed-over socket listening, which tests/docker/test_restart_thieves.py
checks through a real dockerd (see docs/docker.md, "What portsafe guarantees")."""
import errno
import socket
import threading

from proxy_harness import EchoHandler, held_job, mapping_args, running_proxy, tcp_backend, tcp_exchange


class Thief:
    def __init__(self, port, reuse_listen=False):
        self.port = port
        self.reuse_listen = reuse_listen
        self.stop = threading.Event()
        self.stolen = []
        self.attempts = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def try_bind(self, host, port, reuse):
        with socket.socket() as s:
            if reuse:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
                s.listen(1)
            except OSError as e:
                assert e.errno == errno.EADDRINUSE, e
                return None
            return s.getsockname()[1]

    def run(self):
        with socket.socket() as target:  # something to connect to, so connect() picks a port
            target.bind(("127.0.0.9", 0))
            target.listen(64)
            while not self.stop.is_set():
                self.attempts += 1
                if self.reuse_listen:
                    for host in ("0.0.0.0", "127.0.0.1"):
                        if self.try_bind(host, self.port, reuse=True) == self.port:
                            self.stolen.append(f"SO_REUSEADDR+listen on {host}")
                    continue
                for host in ("0.0.0.0", "127.0.0.1"):
                    if self.try_bind(host, self.port, reuse=False) == self.port:
                        self.stolen.append(f"plain bind on {host}")
                if self.try_bind("0.0.0.0", 0, reuse=False) == self.port:
                    self.stolen.append("port-0 bind")
                with socket.socket() as c:
                    c.connect(target.getsockname())
                    if c.getsockname()[1] == self.port:
                        self.stolen.append("connect()'s automatic port")
                    target.accept()[0].close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)


def test_thief_never_gets_the_held_port(ps):
    with tcp_backend(EchoHandler) as (cip, cport), held_job(ps, "web") as job:
        with Thief(job.port) as thief:  # from right after the reservation to the end
            for round_ in range(3):  # proxy start, then two restarts
                with running_proxy(mapping_args("tcp", job.port, cip, cport), ps.env):
                    with Thief(job.port, reuse_listen=True) as reuse_thief:
                        for _ in range(20):
                            assert tcp_exchange("127.0.0.1", job.port, f"round {round_}".encode()) == \
                                f"round {round_}".encode()
                    assert reuse_thief.attempts > 0 and not reuse_thief.stolen, reuse_thief.stolen
        assert thief.attempts > 10
        assert not thief.stolen, thief.stolen
