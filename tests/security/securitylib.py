"""Helpers for the security and bad-input tests: another uid, a raw wire client, jobs that hold
ports, and the checks every hostile input must pass (documented exit code, one clear line, no
crash)."""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile

from portsafe_testlib import PYTHON, ensure_system_user, wait_for

INTRUDER = "portsafe-intruder"
MAGIC = 0x57465350  # "PSFW" (include/portsafe/wire_protocol.hpp)
OPEN_JOB, RESERVE, ACQUIRE, RELEASE, STATUS, GC, PING, ANNOTATE = range(1, 9)
ERROR, ACQUIRED, PONG = 101, 104, 107
TCP, UDP = 0, 1


# ---- another uid -------------------------------------------------------------------------------
def ensure_intruder():
    """The throwaway user other-uid tests run as (created once, never deleted: it owns nothing)."""
    return ensure_system_user(INTRUDER)


def as_user(user, args):
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *args]


def run_python_as(user, code, *args, timeout=30):
    """Runs a Python snippet as `user`; returns the CompletedProcess."""
    return subprocess.run(as_user(user, [PYTHON, "-c", code, *map(str, args)]), capture_output=True, text=True,
                          timeout=timeout, env={"PATH": "/usr/bin:/bin"})


def reachable_root(ps):
    """Moves ps to a runtime root under /tmp (pytest's own tmp tree is closed to other users, which
    would hide what portsafe itself does). The root is still created 0700, as portsafe wants it."""
    root = tempfile.mkdtemp(prefix="portsafe-sec-", dir="/tmp")
    os.chmod(root, 0o700)
    ps.runtime_dir = root
    ps.env["PORTSAFE_RUNTIME_DIR"] = root
    return root


def remove_root(ps):
    ps.cleanup()
    shutil.rmtree(ps.runtime_dir, ignore_errors=True)


# ---- the wire protocol, raw ----------------------------------------------------------------------
def frame(msg_type, payload=b"", version=1, magic=MAGIC, length=None):
    return struct.pack("<IHHI", magic, version, msg_type, len(payload) if length is None else length) + payload


def text(value):
    data = value.encode()
    return struct.pack("<H", len(data)) + data


def connect(socket_path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(socket_path)
    return s


def read_frame(sock):
    """(type, payload) of one reply, or None when the supervisor closed the connection."""
    def exact(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    head = exact(12)
    if head is None:
        return None
    magic, _version, kind, length = struct.unpack("<IHHI", head)
    assert magic == MAGIC, head
    payload = exact(length) if length else b""
    return kind, payload


def error_of(payload):
    code, n = struct.unpack_from("<HH", payload)
    return code, payload[4:4 + n].decode()


def ping(socket_path):
    """The supervisor's pid from a fresh connection: proof that it still serves."""
    with connect(socket_path) as s:
        s.sendall(frame(PING))
        reply = read_frame(s)
    assert reply is not None and reply[0] == PONG, reply
    return struct.unpack_from("<I", reply[1])[0]


def socket_path_of(ps):
    return os.path.join(ps.runtime_dir, "portsafed.sock")


# ---- jobs and status ---------------------------------------------------------------------------
class HoldingJob:
    """`portsafe-run --port NAME... -- sleep` that reports its ports, kept alive until stopped."""

    def __init__(self, ps, names, tag="job"):
        self.ports_file = ps.tmp / f"{tag}.ports"
        exports = " ".join(f"{n}=$PORTSAFE_PORT_{n.upper()}" for n in names)
        script = f'echo {exports} > "$0.tmp" && mv "$0.tmp" "$0" && exec sleep 300'
        args = [ps.program("portsafe-run")]
        for n in names:
            args += ["--port", n]
        self.proc = subprocess.Popen(args + ["--", "sh", "-c", script, str(self.ports_file)], env=ps.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        assert wait_for(lambda: self.ports_file.exists() or self.proc.poll() is not None, timeout=15)
        assert self.ports_file.exists(), f"job did not start: {self.proc.stderr.read() if self.proc.poll() is not None else ''}"
        self.ports = {k: int(v) for k, v in (item.split("=") for item in self.ports_file.read_text().split())}

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=15)


def status_json(ps, timeout=30):
    out = ps.run([ps.program("portsafe"), "status", "--json"], timeout=timeout)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def held_ports(ps):
    return {(e["port"], e["proto"]) for e in status_json(ps) if e["state"] == "held"}


# ---- what every refusal must look like -----------------------------------------------------------
def assert_refused(out, code, program, *words):
    """Exit `code` (never a signal), and stderr's first line names the program and the problem."""
    assert out.returncode == code, f"exit {out.returncode}, wanted {code}: {out.stderr}"
    assert "ERROR: AddressSanitizer" not in out.stderr and "runtime error:" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines, f"{program} refused without a word"
    assert lines[0].startswith(f"{program}: "), lines[0]
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


def assert_one_line(out, program, *words):
    """The message is exactly one line, starts with the program's prefix and names the words.
    program "shim" means the preload library, whose prefix is "portsafe[PID]: "."""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    if program == "shim":
        assert re.match(r"portsafe\[\d+\]: ", lines[0]), lines[0]
    else:
        assert lines[0].startswith(f"{program}: "), lines[0]
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


def real_table_bytes(tmp_path):
    """The bytes of a well-formed table, as a real `portsafe-run --port a -- true` makes it."""
    from portsafe_testlib import Context, table_shm_path

    ps = Context(tmp_path)
    try:
        out = ps.run([ps.program("portsafe-run"), "--port", "a", "--", "true"], timeout=60)
        assert out.returncode == 0, out.stderr
        with open(table_shm_path(ps.runtime_dir), "rb") as f:
            return f.read()
    finally:
        ps.cleanup()
