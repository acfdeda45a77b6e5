"""The shim reports a bad variable once per job, by the process that leads it: every process of a
job inherits the same environment, so a warning per process (or per call) would repeat it in each
one (a Python test run printed it 8 times)."""
import pytest

from portsafe_testlib import PYTHON

# The leader binds, then starts three children that bind and start a grandchild that binds.
FAMILY = """
import socket, subprocess, sys
def bind():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.close()
bind(); bind()
depth = int(sys.argv[1])
if depth < 2:
    for _ in range(3 if depth == 0 else 1):
        subprocess.run([sys.executable, "-c", sys.argv[2], str(depth + 1), sys.argv[2]], check=True)
"""


@pytest.mark.parametrize("name,value", [("PORTSAFE_RANGE", "garbage"), ("PORTSAFE_LINGER", "abc"),
                                        ("PORTSAFE_LOG", "verbose"), ("PORTSAFE_JOB_ID", "1.2.3")])
def test_one_warning_for_a_whole_family_of_processes(ps, name, value):
    out = ps.run([PYTHON, "-c", FAMILY, "0", FAMILY], env=ps.preload_env(**{name: value}), timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if name in line]
    assert len(lines) == 1, out.stderr
    assert out.stderr.strip() == lines[0], out.stderr
