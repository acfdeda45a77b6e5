"""A corrupted table (garbage header, wrong layout version, bad checksum, truncated header or
slots) is never trusted: the tools refuse with one line naming the recovery (`portsafe gc --reset`)
and their documented exit code, the shim passes through with one warning, and the documented
recovery works."""
import os
import struct

import pytest

from portsafe_testlib import PYTHON, table_shm_path
from securitylib import assert_one_line, real_table_bytes

CHECKSUM_AT = 152  # offsetof(TableHeader, checksum) in include/portsafe/port_table.hpp
VERSION_AT = 8


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def with_checksum(header):
    return header[:CHECKSUM_AT] + struct.pack("<Q", fnv1a64(header[:CHECKSUM_AT])) + header[CHECKSUM_AT + 8:]


def garbage_header(data):
    return os.urandom(512) + data[512:]


def wrong_version(data):
    header = data[:VERSION_AT] + struct.pack("<I", 99) + data[VERSION_AT + 4:512]
    return with_checksum(header) + data[512:]


def bad_checksum(data):
    return data[:24] + bytes([data[24] ^ 1]) + data[25:]  # range_low changed, checksum not


def truncated_header(data):
    return data[:100]


def truncated_slots(data):
    return data[:512 + 128 * 3]


def empty(data):
    return b""


CORRUPTIONS = [garbage_header, wrong_version, bad_checksum, truncated_header, truncated_slots, empty]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """The bytes of a real table made by a real run (made once; each test corrupts a copy)."""
    return real_table_bytes(tmp_path_factory.mktemp("pristine"))


def plant(ps, data):
    """Writes data as ps's table, mode 0600 as portsafe makes it (no supervisor runs)."""
    path = table_shm_path(ps.runtime_dir)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


@pytest.fixture(params=CORRUPTIONS, ids=[c.__name__ for c in CORRUPTIONS])
def corrupted(ps, pristine, request):
    return plant(ps, request.param(pristine))


def test_admin_refuses(ps, corrupted):
    for sub in (["status"], ["status", "--json"], ["gc"]):
        out = ps.run([ps.program("portsafe")] + sub, timeout=30)
        assert_one_line(out, "portsafe", corrupted, "portsafe gc --reset")
        assert out.returncode == 1, sub


def test_supervisor_refuses(ps, corrupted):
    out = ps.run([ps.program("portsafed"), "--foreground", "--idle-timeout", "1"], timeout=30)
    assert_one_line(out, "portsafed", corrupted, "portsafe gc --reset")
    assert out.returncode == 1


# portsafe-run meets the table through the supervisor it starts: two kinds of damage suffice.
@pytest.mark.parametrize("corruption", [garbage_header, truncated_slots], ids=["garbage_header", "truncated_slots"])
def test_launcher_refuses(ps, pristine, corruption):
    plant(ps, corruption(pristine))
    marker = ps.tmp / "ran"
    out = ps.run([ps.program("portsafe-run"), "--", "touch", str(marker)], timeout=30)
    assert not marker.exists()
    assert out.returncode == 125, out.stderr
    assert_one_line(out, "portsafe-run", "portsafe gc --reset")


def test_shim_passes_through_once(ps, corrupted):
    code = "import socket\nfor _ in range(3):\n    s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
    out = ps.run([PYTHON, "-c", code], env=ps.preload_env(), timeout=30)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.split()) == 3
    assert_one_line(out, "shim", "portsafe gc --reset")


def test_reset_recovers(ps, corrupted):
    out = ps.run([ps.program("portsafe"), "gc", "--reset"], timeout=30)
    assert out.returncode == 0, out.stderr
    out = ps.run([ps.program("portsafe-run"), "--port", "a", "--", "sh", "-c", "echo $PORTSAFE_PORT_A"], timeout=60)
    assert out.returncode == 0 and int(out.stdout) > 0, out.stderr
    assert ps.run([ps.program("portsafe"), "status"], timeout=30).returncode == 0
