"""With no host daemon (no root anywhere), every account still works on its own: jobs run, pick
from portsafe's range and hold ports; `portsafe doctor` says in one line that host-wide
coordination is off and how to turn it on, and `portsafe status` says it is off."""
from multiuserlib import PYTHON, program

JOB = """
import os, socket
picks = []
for _ in range(200):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    picks.append(s.getsockname()[1])
    s.close()
print(os.environ["PORTSAFE_PORT_WEB"], min(picks), max(picks), len(set(picks)))
"""


def test_accounts_work_alone_and_doctor_says_how_to_turn_coordination_on(make_accounts):
    accounts = make_accounts(2)  # no host daemon: PORTSAFE_HOST_DIR names a directory that does not exist
    for account in accounts:
        out = account.run([program("portsafe-run"), "--port", "web", "--", PYTHON, "-c", JOB])
        assert out.returncode == 0, out.stderr
        held, low, high, distinct = map(int, out.stdout.split())
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral_low = int(f.read().split()[0])
        assert distinct == 200 and high < ephemeral_low and held < ephemeral_low, out.stdout

        doctor = account.run([program("portsafe"), "doctor"])
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        lines = [line for line in doctor.stdout.splitlines() if "host-wide coordination" in line]
        assert len(lines) == 1, doctor.stdout
        line = lines[0]
        assert line.startswith("warn") and "is off" in line, line
        assert account.env["PORTSAFE_HOST_DIR"] in line, line
        assert "systemctl enable --now portsafe-host.socket" in line and "portsafed --host" in line, line

        status = account.run([program("portsafe"), "status"])
        assert status.returncode == 0 and "host-wide coordination: off" in status.stdout, status.stdout
