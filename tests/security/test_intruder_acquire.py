"""Another uid cannot get a held port's socket: asking the supervisor for it (even with the way to
the socket opened) yields neither a reply nor a descriptor, and a plain bind of the held port
fails. The owner's job can still acquire it afterwards."""
import array
import errno
import os
import socket
import struct

from securitylib import (ACQUIRE, ACQUIRED, OPEN_JOB, TCP, HoldingJob, connect, frame, run_python_as, socket_path_of,
                         text)

STEAL = """
import array, socket, struct, sys
path, job, acquire, port = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(path)
fds, got = [], 0
for f in (job, acquire):
    try:
        s.sendall(f)
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(64))
    except (ConnectionResetError, BrokenPipeError):
        msg, anc = b"", []
    got += len(msg)
    for level, kind, raw in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(array.array("i", raw[: len(raw) - len(raw) % 4]))
    if not msg:
        break
print("reply-bytes", got, "fds", len(fds))
t = socket.socket()
try:
    t.bind(("0.0.0.0", port))
    print("bind ok")
except OSError as e:
    print("bind errno", e.errno)
"""


def acquire_frame(port):
    return frame(ACQUIRE, struct.pack("<BH", TCP, port) + text("") + bytes([1]))


def test_intruder_cannot_acquire_held_socket(shared_ps, intruder):
    job = HoldingJob(shared_ps, ["web"])
    port = job.ports["web"]
    try:
        os.chmod(shared_ps.runtime_dir, 0o711)
        os.chmod(socket_path_of(shared_ps), 0o666)
        open_job = frame(OPEN_JOB, text("intruder") + bytes(8))
        out = run_python_as(intruder, STEAL, socket_path_of(shared_ps), open_job.hex(), acquire_frame(port).hex(), port)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == ["reply-bytes 0 fds 0", f"bind errno {errno.EADDRINUSE}"], out.stdout
        os.chmod(shared_ps.runtime_dir, 0o700)
        # The port is still held, and its owner's uid still gets the socket.
        with connect(socket_path_of(shared_ps)) as s:
            s.sendall(acquire_frame(port))
            msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(16))
            assert struct.unpack_from("<H", msg, 6)[0] == ACQUIRED, msg
            fds = [fd for level, kind, raw in anc if kind == socket.SCM_RIGHTS
                   for fd in array.array("i", raw[: len(raw) - len(raw) % 4])]
            assert len(fds) == 1
            with socket.socket(fileno=fds[0]) as handed:
                assert handed.getsockname()[1] == port
    finally:
        job.stop()
