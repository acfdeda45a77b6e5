"""A table with a custom PORTSAFE_RANGE does not take part in host-wide coordination, even with
the host daemon running: its jobs pick from their own range and lease no block, and
`portsafe doctor` says in one line that the custom range opts out."""

from multiuserlib import PYTHON, Registry, program

JOB = """
import socket
picks = set()
for _ in range(100):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    picks.add(s.getsockname()[1])
    s.close()
print(min(picks), max(picks), len(picks))
"""


def test_custom_range_opts_out(host, make_accounts):
    account, = make_accounts(1, host)
    account.env["PORTSAFE_RANGE"] = "20000-20999"
    out = account.run([program("portsafe-run"), "--", PYTHON, "-c", JOB])
    assert out.returncode == 0, out.stderr
    low, high, distinct = map(int, out.stdout.split())
    assert 20000 <= low and high <= 20999 and distinct == 100, out.stdout
    assert Registry(host.registry_path).blocks_of(account.uid) == [], "a custom-range table leased blocks"
    doctor = account.run([program("portsafe"), "doctor"])
    lines = [line for line in doctor.stdout.splitlines() if "host-wide coordination" in line]
    assert len(lines) == 1, doctor.stdout
    assert lines[0].startswith("warn") and "PORTSAFE_RANGE opts out" in lines[0], lines[0]
