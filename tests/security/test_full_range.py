"""A full range: more named ports than the range has gives portsafe-run 125 with one line naming
the fix, and takes nothing from the job that holds the others; more port-0 picks than ports fall
back to the kernel with one warning, counted in `portsafe status`."""
import re

from portsafe_testlib import PYTHON
from securitylib import HoldingJob, assert_one_line, held_ports

RANGE = (20000, 20003)


def test_reserve_beyond_range(ps):
    ps.set_range(*RANGE)
    job = HoldingJob(ps, ["a", "b", "c"])
    try:
        before = held_ports(ps)
        marker = ps.tmp / "ran"
        out = ps.run([ps.program("portsafe-run"), "--port", "x", "--port", "y", "--", "touch", str(marker)], timeout=30)
        assert out.returncode == 125, out.stderr
        assert_one_line(out, "portsafe-run", "PORTSAFE_RANGE")
        assert not marker.exists()
        assert held_ports(ps) == before and len(before) == 3
        assert job.proc.poll() is None
        # The one port left is still there for whoever asks for one.
        out = ps.run([ps.program("portsafe-run"), "--port", "x", "--", "sh", "-c", "echo $PORTSAFE_PORT_X"], timeout=30)
        assert out.returncode == 0 and RANGE[0] <= int(out.stdout) <= RANGE[1], out.stderr
    finally:
        job.stop()


def test_more_ports_than_range_in_one_job(ps):
    ps.set_range(*RANGE)
    args = [ps.program("portsafe-run")]
    for i in range(RANGE[1] - RANGE[0] + 2):
        args += ["--port", f"p{i}"]
    out = ps.run(args + ["--", "true"], timeout=30)
    assert out.returncode == 125, out.stderr
    assert_one_line(out, "portsafe-run", "PORTSAFE_RANGE")


def test_picks_beyond_range_fall_back_once(ps):
    ps.set_range(*RANGE)
    job = HoldingJob(ps, ["a", "b"])
    try:
        code = ("import socket\nkeep = []\nfor _ in range(8):\n"
                "    s = socket.socket(); s.bind(('127.0.0.1', 0)); keep.append(s); print(s.getsockname()[1])")
        out = ps.run([ps.program("portsafe-run"), "--", PYTHON, "-c", code], timeout=60)
        assert out.returncode == 0, out.stderr
        ports = [int(p) for p in out.stdout.split()]
        assert len(set(ports)) == 8
        assert not set(ports) & set(job.ports.values())
        assert sum(RANGE[0] <= p <= RANGE[1] for p in ports) == 2  # the two free ones, then the kernel
        assert_one_line(out, "shim", "full")
        summary = ps.run([ps.program("portsafe"), "status"], timeout=30).stdout
        assert int(re.search(r"fallbacks (\d+)", summary).group(1)) >= 6, summary
        assert job.proc.poll() is None
    finally:
        job.stop()
