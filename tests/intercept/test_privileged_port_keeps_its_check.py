"""A port the table does not cover (here a privileged one) is left to the kernel, which checks it
against the binding process's own privileges: a job process that dropped root and binds port 80
through a raw bind() (the notified path; here Python without the shim) gets EACCES, exactly as
bare. portsafe-run, which serves the notification as root, must not bind it for it."""
import os
import shutil
import subprocess

import pytest

from portsafe_testlib import PYTHON

BIND_80 = """
import errno, socket
s = socket.socket()
try:
    s.bind(("127.0.0.1", 80))
    print("bound")
except OSError as e:
    print(errno.errorcode[e.errno])
"""


@pytest.fixture
def unprivileged():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root (to drop to nobody) and setpriv")
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all"]


def bind_80_in_seccomp_job(ps, unprivileged):
    # No LD_PRELOAD: the shim would answer this bind itself; without it the bind is notified.
    out = ps.run([ps.program("portsafe-run"), "--intercept", "seccomp", "--", "env", "-u", "LD_PRELOAD",
                  *unprivileged, PYTHON, "-c", BIND_80], timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_bare_unprivileged_bind_of_port_80_is_refused(unprivileged):
    out = subprocess.run(unprivileged + [PYTHON, "-c", BIND_80], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "EACCES", out.stdout + out.stderr


def test_in_a_seccomp_job_it_is_refused_the_same_way(ps, unprivileged):
    assert bind_80_in_seccomp_job(ps, unprivileged) == "EACCES"
