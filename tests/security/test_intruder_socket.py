"""Another uid cannot talk to the supervisor: the private root keeps it from the socket at all, and
when the socket is reachable the supervisor drops it without a byte of reply. Either way the
supervisor keeps serving its owner and the owner's held ports stay held."""
import os

from securitylib import (GC, OPEN_JOB, PING, RESERVE, STATUS, TCP, HoldingJob, frame, held_ports, ping,
                         run_python_as, socket_path_of, text)

PROBE = """
import socket, sys
frames = [bytes.fromhex(h) for h in sys.argv[2:]]
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect-refused", e.errno)
    sys.exit(0)
got = 0
for f in frames:
    try:
        s.sendall(f)
        data = s.recv(4096)
    except (ConnectionResetError, BrokenPipeError):
        data = b""
    except socket.timeout:
        print("timeout")
        sys.exit(0)
    got += len(data)
    if not data:
        break
print("reply-bytes", got)
"""

REQUESTS = [frame(PING), frame(STATUS), frame(OPEN_JOB, text("intruder") + bytes(8)),
            frame(RESERVE, bytes([1]) + text("x") + bytes([TCP]) + bytes(2)), frame(GC)]


def probe(intruder, socket_path):
    out = run_python_as(intruder, PROBE, socket_path, *(f.hex() for f in REQUESTS))
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_private_root_keeps_intruder_from_socket(shared_ps, intruder):
    job = HoldingJob(shared_ps, ["web"])
    try:
        assert probe(intruder, socket_path_of(shared_ps)) == f"connect-refused {13}"  # EACCES
        assert ping(socket_path_of(shared_ps)) == shared_ps.supervisor_pid()
        assert (job.ports["web"], "tcp") in held_ports(shared_ps)
    finally:
        job.stop()


def test_reachable_socket_gives_intruder_no_reply(shared_ps, intruder):
    job = HoldingJob(shared_ps, ["web"])
    try:
        # Open the way on purpose, so that the supervisor's own peer check is what refuses.
        os.chmod(shared_ps.runtime_dir, 0o711)
        os.chmod(socket_path_of(shared_ps), 0o666)
        assert probe(intruder, socket_path_of(shared_ps)) == "reply-bytes 0"
        os.chmod(shared_ps.runtime_dir, 0o700)
        assert ping(socket_path_of(shared_ps)) == shared_ps.supervisor_pid()
        assert (job.ports["web"], "tcp") in held_ports(shared_ps)
        assert job.proc.poll() is None
    finally:
        job.stop()
