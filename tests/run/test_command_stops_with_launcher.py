"""When portsafe-run dies, even by SIGKILL, its job's held ports are released: COMMAND is then
asked to stop (SIGTERM) instead of running on with ports nobody holds for it."""
import os
import signal
import subprocess

from portsafe_testlib import wait_for

SCRIPT = r"""
import os, signal, sys, time
def stop(signum, frame):
    # Written aside, then renamed: the test must never see the file before its text.
    open(sys.argv[1] + ".part", "w").write("SIGTERM")
    os.rename(sys.argv[1] + ".part", sys.argv[1])
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(sys.argv[2], "w").write("ready")
time.sleep(60)
"""


def test_sigkill_of_portsafe_run_sends_sigterm_to_command(ps):
    stopped, ready = ps.tmp / "stopped", ps.tmp / "ready"
    run = subprocess.Popen([ps.program("portsafe-run"), "--port", "web", "--", "/usr/bin/python3", "-c", SCRIPT,
                            str(stopped), str(ready)], env=ps.env)
    try:
        assert wait_for(ready.exists, timeout=20), "COMMAND did not start"
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
        assert wait_for(stopped.exists, timeout=10), "COMMAND outlived portsafe-run"
        assert stopped.read_text() == "SIGTERM"
    finally:
        if run.poll() is None:
            run.kill()
