"""Starts portsafe-docker-proxy (or Debian's docker-proxy) exactly as dockerd does.

dockerd execs the proxy with the mapping as Go-style flags, a pipe as fd 3 on which the proxy
writes "0\\n" once serving or "1\\n<message>" on failure, and (Docker 28+, -use-listen-fd) the
socket it bound as fd 4. It stops the proxy with SIGINT (SIGTERM works too).
"""
import contextlib
import os
import select
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time

import portsafe_testlib

STATUS_TIMEOUT = 10.0


def proxy_program():
    return portsafe_testlib.program("portsafe-docker-proxy")


def mapping_args(proto, host_port, container_ip, container_port, host_ip="0.0.0.0", listen_fd=False):
    """The argv dockerd builds (daemon/libnetwork portmapper), without the program name."""
    args = ["-proto", proto, "-host-ip", host_ip, "-host-port", str(host_port),
            "-container-ip", container_ip, "-container-port", str(container_port)]
    if listen_fd:
        args.append("-use-listen-fd")
    return args


class ProxyProcess:
    def __init__(self, proc, status, log_path=None):
        self.proc = proc
        self.status = status  # what fd 3 said: "0\n", "1\n...", or "" (closed without a word)
        self.log_path = log_path

    @property
    def ready(self):
        return self.status == "0\n"

    def stop(self, sig=signal.SIGINT, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"proxy did not stop within {timeout}s of signal {sig}")

    def stderr(self):
        """What the proxy wrote on stderr so far (a file: a pipe nobody reads could block it)."""
        if not self.log_path:
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()


def read_status(fd, proc, timeout=STATUS_TIMEOUT):
    """Reads the status pipe until EOF (the proxy closes it after its one message) or timeout."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
            if data == b"0\n":  # a real docker-proxy may keep fd 3 open after "0\n"
                break
    return data.decode(errors="replace")


def start_proxy(args, env, program=None, listen_sock=None, stdio_null=False, status_fd=True, prefix=()):
    """Execs the proxy with fd 3 = status pipe and fd 4 = listen_sock; returns a ProxyProcess
    once the status arrived (or the pipe closed)."""
    program = program or proxy_program()
    read_end, write_end = os.pipe()
    sock_fd = listen_sock.fileno() if listen_sock is not None else None

    def place_fds():
        # Move both to high numbers first so neither dup2 overwrites the other.
        high_pipe = os.dup2(write_end, 100) if status_fd else None
        high_sock = os.dup2(sock_fd, 101) if sock_fd is not None else None
        if high_pipe is not None:
            os.dup2(high_pipe, 3)
        if high_sock is not None:
            os.dup2(high_sock, 4)
        for fd in (100, 101):
            with contextlib.suppress(OSError):
                os.close(fd)

    out = subprocess.DEVNULL if stdio_null else None
    log_fd, log_path = tempfile.mkstemp(prefix="proxy-", suffix=".log")
    try:
        proc = subprocess.Popen(list(prefix) + [program] + list(args), env=env, close_fds=False,
                                preexec_fn=place_fds, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.DEVNULL if stdio_null else log_fd)
    finally:
        os.close(log_fd)
        os.close(write_end)
    try:
        status = read_status(read_end, proc)
    finally:
        os.close(read_end)
    return ProxyProcess(proc, status, None if stdio_null else log_path)


@contextlib.contextmanager
def running_proxy(args, env, **kw):
    p = start_proxy(args, env, **kw)
    try:
        assert p.ready, f"proxy did not report ready: status={p.status!r} stderr={p.stderr()}"
        yield p
    except BaseException:
        print("proxy stderr:\n" + p.stderr())
        raise
    finally:
        if p.proc.poll() is None:
            p.stop()


def dockerd_listen_socket(proto, port, host="0.0.0.0"):
    """The socket dockerd 28+ binds before starting the proxy: SO_REUSEADDR, TCP listening."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    if proto == "tcp":
        s.listen(128)
    return s


def free_port(proto="tcp", host="127.0.0.1"):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# ---- backends (the "container") ---------------------------------------------------------------

class _ThreadingTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


class EchoHandler(socketserver.BaseRequestHandler):
    """Echoes until EOF, then closes: a half-close must reach the backend for the reply to end."""

    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                break
            self.request.sendall(data)


class CollectHandler(socketserver.BaseRequestHandler):
    """Reads everything until EOF, then answers with the byte count: needs the half-close."""

    def handle(self):
        total = 0
        while True:
            data = self.request.recv(65536)
            if not data:
                break
            total += len(data)
        self.request.sendall(f"got {total}\n".encode())


@contextlib.contextmanager
def tcp_backend(handler, host="127.0.0.2", port=0):
    server = _ThreadingTCPServer((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def udp_echo_backend(host="127.0.0.2", port=0):
    """Echoes each datagram prefixed with the sender's port: shows which flow socket carried it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    stop = threading.Event()

    def serve():
        s.settimeout(0.05)
        while not stop.is_set():
            try:
                data, addr = s.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            s.sendto(f"{addr[1]}:".encode() + data, addr)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield s.getsockname()
    finally:
        stop.set()
        thread.join(timeout=2)
        s.close()


def tcp_exchange(host, port, payload=b"ping", timeout=5.0):
    """Connects, sends payload, half-closes, returns everything read until EOF."""
    with socket.create_connection((host, port), timeout=timeout) as c:
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            data = c.recv(65536)
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


def udp_exchange(sock, dest, payload, timeout=3.0):
    sock.settimeout(timeout)
    sock.sendto(payload, dest)
    return sock.recvfrom(65536)


# ---- jobs that hold ports (portsafe-run --port) -----------------------------------------------

class HeldJob:
    def __init__(self, proc, port):
        self.proc = proc
        self.port = port


@contextlib.contextmanager
def held_job(ps, name="web", proto="tcp", env=None):
    """A job holding one named port for its lifetime: portsafe-run --port NAME -- (prints it, sleeps)."""
    spec = name if proto == "tcp" else f"{name}/udp"
    key = "PORTSAFE_PORT_" + name.upper().replace("-", "_")
    proc = subprocess.Popen([portsafe_testlib.program("portsafe-run"), "--port", spec, "--",
                             "/bin/sh", "-c", f'echo "${key}"; exec sleep 600'],
                            env=env or ps.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        line = proc.stdout.readline().strip() if ready else ""
        assert line.isdigit(), f"portsafe-run did not start: {line!r} {proc.poll()} {proc.stderr.read() if proc.poll() is not None else ''}"
        yield HeldJob(proc, int(line))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def port_status(ps, port, proto="tcp"):
    """The `portsafe status --json` entry of a port, or None."""
    import json
    r = ps.run([portsafe_testlib.program("portsafe"), "status", "--json"])
    if r.returncode != 0:
        return None
    for entry in json.loads(r.stdout):
        if entry["port"] == port and entry["proto"] == proto:
            return entry
    return None
