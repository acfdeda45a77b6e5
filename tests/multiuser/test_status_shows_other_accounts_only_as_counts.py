"""`portsafe status` shows another account's use of the range only as counts (accounts, blocks,
ports), never its jobs' names or commands: not in the text, not in --json, not in any answer the
host daemon gives to any request type."""
import json
import secrets
import struct

from multiuserlib import PYTHON, picking, program

SOCKET_PROBE = """
import socket, struct, sys
got = b""
payload = bytes.fromhex(sys.argv[2])
for kind in range(0, 200):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    try:
        s.connect(sys.argv[1])
        s.sendall(struct.pack("<IHHI", 0x57465350, 1, kind, len(payload)) + payload)
        s.shutdown(socket.SHUT_WR)  # the daemon answers, then sees the end and closes
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    finally:
        s.close()
sys.stdout.write(got.hex())
"""


def test_other_accounts_appear_only_as_counts(host, make_accounts, work):
    victim, intruder = make_accounts(2, host)
    secret_job = f"secret-job-{secrets.token_hex(6)}"
    secret_tag = f"secretcmd{secrets.token_hex(6)}"
    with picking([victim], work, 400, keep_every=4, tags=[secret_tag], job=secret_job) as (results, _):
        # The victim's own status names its job and its commands (python3 .../picker.py): there
        # is something to leak.
        own = victim.run([program("portsafe"), "status", "--json"])
        assert own.returncode == 0 and secret_job in own.stdout, own.stdout + own.stderr
        # status shortens long commands (a deep checkout path can cut "picker.py" off), so the
        # secrets are the victim's command texts exactly as its own status shows them.
        own_commands = {e["command"] for e in json.loads(own.stdout) if e["job"] == secret_job and e["command"]}
        assert own_commands, own.stdout
        out = intruder.run([program("portsafe-run"), "--", PYTHON, "-c",
                            "import socket; socket.socket().bind(('127.0.0.1', 0))"])
        assert out.returncode == 0, out.stderr
        text = intruder.run([program("portsafe"), "status"])
        as_json = intruder.run([program("portsafe"), "status", "--json"])
        assert text.returncode == 0 and as_json.returncode == 0, text.stderr + as_json.stderr
        for out in (text, as_json):
            for secret in (secret_job, secret_tag, *own_commands):
                assert secret not in out.stdout + out.stderr, f"{secret!r} leaked: {out.stdout}"
        counts = [e for e in json.loads(as_json.stdout) if e["state"] == "other-accounts"]
        assert len(counts) == 1, as_json.stdout
        assert counts[0]["accounts"] == 1 and counts[0]["blocks"] >= 1 and counts[0]["ports"] >= 400, counts
        assert counts[0]["job"] == "" and counts[0]["command"] == "", counts
        assert f"other accounts: 1 account(s), {counts[0]['blocks']} block(s)" in text.stdout, text.stdout
        # Every request type on the host socket (an empty payload and a table-name-like one).
        for payload in (b"", struct.pack("<H", 25) + b"portsafe-0000000000000000"):
            got = intruder.run([PYTHON, "-c", SOCKET_PROBE, host.socket_path, payload.hex()], timeout=120)
            assert got.returncode == 0, got.stderr
            answers = bytes.fromhex(got.stdout)
            for secret in (secret_job, secret_tag, *own_commands):
                assert secret.encode() not in answers, f"{secret!r} leaked by the host daemon"
    assert host.alive(), host.log()[-3000:]
