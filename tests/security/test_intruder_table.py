"""Another uid can neither read nor write the port table (/dev/shm/portsafe-*, mode 0600), nor
reach it through the admin command or the shim; the shim in its programs passes through."""
import errno
import os
import stat

from portsafe_testlib import table_shm_path
from securitylib import HoldingJob, as_user, run_python_as

OPEN_BOTH = """
import os, sys
for flags in (os.O_RDONLY, os.O_RDWR):
    try:
        os.close(os.open(sys.argv[1], flags))
        print("opened")
    except OSError as e:
        print("errno", e.errno)
"""


def test_table_is_private_to_its_owner(shared_ps, intruder):
    job = HoldingJob(shared_ps, ["db"])
    try:
        table = table_shm_path(shared_ps.runtime_dir)
        st = os.stat(table)
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
        out = run_python_as(intruder, OPEN_BOTH, table)
        assert out.stdout.split("\n")[:2] == [f"errno {errno.EACCES}"] * 2, out.stdout + out.stderr
    finally:
        job.stop()


def test_intruder_tools_cannot_reach_owner_table(shared_ps, intruder):
    job = HoldingJob(shared_ps, ["db"])
    try:
        env = {"PATH": "/usr/bin:/bin", "PORTSAFE_RUNTIME_DIR": shared_ps.runtime_dir}
        out = shared_ps.run(as_user(intruder, [shared_ps.program("portsafe"), "status"]), env=env, timeout=30)
        assert out.returncode == 1, out.stdout + out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and shared_ps.runtime_dir in lines[0], out.stderr
        # The shim in the intruder's program: one warning, then the kernel's own choice.
        env["LD_PRELOAD"] = shared_ps.shim
        code = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
        out = shared_ps.run(as_user(intruder, ["/usr/bin/python3", "-c", code]), env=env, timeout=30)
        assert out.returncode == 0, out.stderr
        assert int(out.stdout) != job.ports["db"]
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    finally:
        job.stop()
