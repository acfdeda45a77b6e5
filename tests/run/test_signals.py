"""portsafe-run forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 to COMMAND, exits with
its status (128+N for death by signal N), and is a subreaper: orphaned grandchildren stay with it."""
import os
import signal
import textwrap

import pytest

from run_helpers import PYTHON, kill_group, start, wait_file

RECEIVER = textwrap.dedent("""
    import os, signal, sys, time
    got = []
    def handler(sig, frame):
        got.append(sig)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(s, handler)
    open(sys.argv[1] + ".tmp", "w").write(str(os.getppid()))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    deadline = time.monotonic() + 30
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    sys.exit(got[0] if got else 99)
""")

FORWARDED = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2]


@pytest.mark.parametrize("sig", FORWARDED, ids=[s.name for s in FORWARDED])
def test_signal_forwarded_to_command(ps, sig):
    script = ps.tmp / "receiver.py"
    script.write_text(RECEIVER)
    ready = ps.tmp / "ready"
    proc = start(ps, ["--", PYTHON, str(script), str(ready)])
    try:
        assert wait_file(ready) == str(proc.pid), "COMMAND must be portsafe-run's direct child"
        os.kill(proc.pid, sig)  # to portsafe-run only
        assert proc.wait(timeout=20) == int(sig), proc.stderr.read()  # the receiver exits with the signal number
    finally:
        kill_group(proc)


def test_command_killed_by_forwarded_signal_gives_128_plus_n(ps):
    ready = ps.tmp / "ready"
    proc = start(ps, ["--", "sh", "-c", f"touch {ready}; exec sleep 30"])
    try:
        assert wait_file(ready, timeout=10) is not None
        os.kill(proc.pid, signal.SIGUSR1)
        assert proc.wait(timeout=20) == 128 + signal.SIGUSR1
    finally:
        kill_group(proc)


def test_orphaned_grandchild_is_reparented_to_portsafe_run(ps):
    out_file = ps.tmp / "ppid"
    prog = textwrap.dedent(f"""
        import os, time
        if os.fork() == 0:
            if os.fork() == 0:          # the grandchild outlives its parent
                time.sleep(0.2)
                open("{out_file}.tmp", "w").write(str(os.getppid()))
                os.rename("{out_file}.tmp", "{out_file}")
                os._exit(0)
            os._exit(0)
        deadline = time.monotonic() + 20
        while not os.path.exists("{out_file}") and time.monotonic() < deadline:
            time.sleep(0.01)
    """)
    proc = start(ps, ["--", PYTHON, "-c", prog])
    try:
        assert proc.wait(timeout=30) == 0
        assert out_file.read_text() == str(proc.pid)
    finally:
        kill_group(proc)
