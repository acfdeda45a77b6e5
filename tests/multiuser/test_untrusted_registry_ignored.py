"""A host registry an account could have changed, or that is not one for this network namespace,
is never trusted: with the host dir handed to an account (or made writable by others), the
registry file handed to an account with mode 0666, its header checksum broken, or its header
naming another network namespace, every account ignores the registry — its jobs work per
account, lease no block — and `portsafe doctor` names the directory or file and why it is ignored."""
import os
import struct

import pytest

from multiuserlib import PYTHON, Registry, program

JOB = "import socket\nfor _ in range(50): socket.socket().bind(('127.0.0.1', 0))"


@pytest.mark.parametrize("spoil", ["owned_by_an_account", "writable_by_others"])
def test_untrusted_host_dir_is_ignored(host, make_accounts, spoil):
    owner, account = make_accounts(2, host)
    if spoil == "owned_by_an_account":
        os.chown(host.dir, owner.uid, owner.pw.pw_gid)
    else:
        os.chmod(host.dir, 0o777)
    try:
        out = account.run([program("portsafe-run"), "--", PYTHON, "-c", JOB])
        assert out.returncode == 0, out.stderr
        assert Registry(host.registry_path).blocks_of(account.uid) == [], "a block was leased through an untrusted dir"
        doctor = account.run([program("portsafe"), "doctor"])
        lines = [line for line in doctor.stdout.splitlines() if "host-wide coordination" in line]
        assert len(lines) == 1 and lines[0].startswith("warn"), doctor.stdout
        assert f"{host.dir} is ignored" in lines[0] and "portsafe-host.socket" in lines[0], lines[0]
    finally:
        os.chown(host.dir, 0, 0)
        os.chmod(host.dir, 0o755)


# The registry header (include/portsafe/host_registry.hpp): netns inode at 16, checksum (FNV-1a
# of bytes 0-47) at 48.
NETNS_OFFSET = 16
CHECKSUM_OFFSET = 48


def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def patch_header(path, offset, value):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(struct.pack("<Q", value))


@pytest.mark.parametrize("spoil,reason", [
    ("file_owned_by_an_account", "must be a root-owned regular file no one else can write"),
    ("bad_checksum", "header checksum mismatch"),
    ("other_netns", "serves network namespace"),
])
def test_untrusted_registry_file_is_ignored(host, make_accounts, spoil, reason):
    owner, account = make_accounts(2, host)
    path = host.registry_path
    with open(path, "rb") as f:
        header = f.read(CHECKSUM_OFFSET + 8)
    st = os.stat(path)
    try:
        if spoil == "file_owned_by_an_account":
            os.chown(path, owner.uid, owner.pw.pw_gid)
            os.chmod(path, 0o666)
        elif spoil == "bad_checksum":
            patch_header(path, CHECKSUM_OFFSET, struct.unpack_from("<Q", header, CHECKSUM_OFFSET)[0] ^ 1)
        else:
            netns, = struct.unpack_from("<Q", header, NETNS_OFFSET)
            forged = bytearray(header)
            struct.pack_into("<Q", forged, NETNS_OFFSET, netns + 1)  # a valid header, another netns's
            patch_header(path, NETNS_OFFSET, netns + 1)
            patch_header(path, CHECKSUM_OFFSET, fnv1a(forged[:CHECKSUM_OFFSET]))
        out = account.run([program("portsafe-run"), "--", PYTHON, "-c", JOB])
        assert out.returncode == 0, out.stderr
        assert Registry(path).blocks_of(account.uid) == [], f"a block was leased through a registry with {spoil}"
        doctor = account.run([program("portsafe"), "doctor"])
        lines = [line for line in doctor.stdout.splitlines() if "host-wide coordination" in line]
        assert len(lines) == 1 and lines[0].startswith("warn"), doctor.stdout
        assert f"{path} is ignored" in lines[0] and reason in lines[0], lines[0]
    finally:
        with open(path, "r+b") as f:
            f.write(header)
        os.chown(path, st.st_uid, st.st_gid)
        os.chmod(path, st.st_mode & 0o7777)
