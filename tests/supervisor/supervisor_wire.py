"""A minimal client of portsafed's wire protocol, for black-box tests (written from
include/portsafe/wire_protocol.hpp: 12-byte header "PSFW", version, type, length; little-endian)."""
import array
import os
import socket
import struct
import subprocess
import time

MAGIC = 0x57465350
OPEN_JOB, RESERVE, ACQUIRE, RELEASE, STATUS, GC, PING, ANNOTATE = range(1, 9)
OK, ERROR, JOB_OPENED, RESERVED, ACQUIRED, STATUS_REPLY, GC_REPLY, PONG = range(100, 108)
TCP, UDP = 0, 1


def frame(msg_type, payload=b"", version=1, magic=MAGIC):
    return struct.pack("<IHHI", magic, version, msg_type, len(payload)) + payload


def text(value):
    data = value.encode()
    return struct.pack("<H", len(data)) + data


class Client:
    def __init__(self, socket_path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(socket_path)

    def close(self):
        self.sock.close()

    def _read_exact(self, n, fds):
        data = b""
        while len(data) < n:
            msg, anc, _flags, _addr = self.sock.recvmsg(n - len(data), socket.CMSG_SPACE(16))
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.extend(array.array("i", raw[: len(raw) - len(raw) % 4]))
            if not msg:
                raise ConnectionError("supervisor closed the connection")
            data += msg
        return data

    def call(self, msg_type, payload=b""):
        self.sock.sendall(frame(msg_type, payload))
        return self.read_reply()

    def read_reply(self):
        fds = []
        _magic, _version, kind, length = struct.unpack("<IHHI", self._read_exact(12, fds))
        return kind, self._read_exact(length, fds) if length else b"", fds

    def open_job(self, name, job_id=0):
        kind, payload, _ = self.call(OPEN_JOB, text(name) + struct.pack("<Q", job_id))
        assert kind == JOB_OPENED, payload
        return struct.unpack("<Q", payload[:8])[0]

    def reserve(self, ports):
        """ports: [(name, proto, port)] -> {name: port}"""
        body = bytes([len(ports)])
        for name, proto, port in ports:
            body += text(name) + bytes([proto]) + struct.pack("<H", port)
        kind, payload, _ = self.call(RESERVE, body)
        assert kind == RESERVED, payload
        result, offset = {}, 1
        for _ in range(payload[0]):
            n = struct.unpack_from("<H", payload, offset)[0]
            name = payload[offset + 2: offset + 2 + n].decode()
            offset += 2 + n + 1
            result[name] = struct.unpack_from("<H", payload, offset)[0]
            offset += 2
        return result

    def ping(self):
        kind, payload, _ = self.call(PING)
        assert kind == PONG, payload
        return struct.unpack_from("<I", payload)[0]


def start_supervisor(ctx, *extra):
    """Starts the installed portsafed on ctx's root (it detaches itself) and waits until it serves."""
    with open(os.path.join(ctx.runtime_dir, "portsafed.log"), "a") as log:
        subprocess.run([ctx.program("portsafed"), "--runtime-dir", ctx.runtime_dir, *extra], env=ctx.env,
                       check=True, timeout=30, stderr=log)
    socket_path = os.path.join(ctx.runtime_dir, "portsafed.sock")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            Client(socket_path).close()
            return socket_path
        except OSError:
            time.sleep(0.01)
    raise AssertionError("portsafed did not start")


def process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False
