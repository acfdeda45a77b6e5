"""A host registry an account could have changed is never trusted: with the host dir handed to an
account (or made writable by others), every account ignores the registry — its jobs work per
account, lease no block — and `portsafe doctor` names the directory and why it is ignored."""
import os

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
