"""Garbage on the supervisor socket — random bytes, truncated frames, an oversized length, a wrong
version, an unknown type, a malformed payload, clients that stall mid-frame — gets an error reply
or a closed connection, never a hang or a crash; the supervisor keeps serving everyone else and
other jobs' held ports stay held."""
import random
import socket
import struct

import pytest

from securitylib import (ERROR, PING, RESERVE, STATUS, TCP, HoldingJob, connect, error_of, frame, held_ports, ping,
                         read_frame, socket_path_of, text)

MAX_PAYLOAD = 256 * 1024
BAD_FRAME, BAD_VERSION, UNKNOWN_TYPE, BAD_PAYLOAD = 1, 2, 3, 4

rng = random.Random(7)
GARBAGE = {
    # name: (bytes, the error code of the reply, or None when only "error or closed" is promised)
    "random-bytes": (bytes(rng.randrange(256) for _ in range(4096)), BAD_FRAME),
    "http-request": (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", BAD_FRAME),
    "oversized-length": (frame(PING, length=MAX_PAYLOAD + 1), BAD_FRAME),
    "huge-length": (frame(PING, length=0xFFFFFFFF), BAD_FRAME),
    "wrong-version": (frame(PING, version=2), BAD_VERSION),
    "version-zero": (frame(STATUS, version=0), BAD_VERSION),
    "unknown-type": (frame(999), UNKNOWN_TYPE),
    "reply-type-as-request": (frame(ERROR, struct.pack("<H", 1) + text("x")), UNKNOWN_TYPE),
    "trailing-payload": (frame(PING, b"extra"), BAD_PAYLOAD),
    "short-payload": (frame(RESERVE, bytes([2]) + text("a")), BAD_PAYLOAD),
    "string-past-end": (frame(RESERVE, bytes([1]) + struct.pack("<H", 60000) + b"ab"), BAD_PAYLOAD),
    "too-many-ports": (frame(RESERVE, bytes([255]) + (text("p") + bytes([TCP]) + bytes(2)) * 255), None),
    "bad-protocol": (frame(RESERVE, bytes([1]) + text("p") + bytes([7]) + bytes(2)), None),
}


def reply_code(data, half_close=True):
    """Sends data; returns the error code replied, or None when the connection just closed."""
    with connect(SOCKET_PATH[0], timeout=10) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
            reply = read_frame(s)
        except (ConnectionResetError, BrokenPipeError):
            return None
    if reply is None:
        return None
    kind, payload = reply
    assert kind == ERROR, f"garbage got a {kind} reply"
    code, message = error_of(payload)
    assert message and "\n" not in message
    return code


SOCKET_PATH = [None]


@pytest.fixture
def serving(ps):
    job = HoldingJob(ps, ["web", "db"])
    SOCKET_PATH[0] = socket_path_of(ps)
    pid = ps.supervisor_pid()
    before = held_ports(ps)
    try:
        yield ps
        assert ps.supervisor_pid() == pid and ping(SOCKET_PATH[0]) == pid
        assert held_ports(ps) == before and len(before) == 2
        assert job.proc.poll() is None
    finally:
        job.stop()


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_gets_error_or_close(serving, name):
    data, expected = GARBAGE[name]
    code = reply_code(data)
    if expected is not None:
        assert code == expected
    else:
        assert code in (None, BAD_PAYLOAD, BAD_FRAME)


def test_truncated_frames(serving):
    whole = frame(RESERVE, bytes([1]) + text("p") + bytes([TCP]) + bytes(2))
    for cut in (1, 5, 11, 12, 14, len(whole) - 1):
        code = reply_code(whole[:cut])  # then end of stream
        assert code in (None, BAD_FRAME, BAD_PAYLOAD), cut


def test_random_streams(serving):
    r = random.Random(11)
    for _ in range(40):
        length = r.choice([1, 11, 12, 13, 64, 512])
        data = bytes(r.randrange(256) for _ in range(length))
        if r.random() < 0.5:  # a valid magic, so the header checks further on are reached
            data = struct.pack("<I", 0x57465350) + data
        reply_code(data)


def test_stalled_clients_do_not_block_others(serving):
    stalled = []
    try:
        for i in range(30):
            s = connect(SOCKET_PATH[0])
            s.sendall(frame(RESERVE, bytes(40))[: 5 + i % 10])  # half a frame, then silence
            stalled.append(s)
        assert ping(SOCKET_PATH[0]) == serving.supervisor_pid()
        out = serving.run([serving.program("portsafe"), "status"], timeout=30)
        assert out.returncode == 0, out.stderr
    finally:
        for s in stalled:
            s.close()
