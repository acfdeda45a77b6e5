"""portsafe-run checks the portsafe variables it inherits before anything starts: a bad
PORTSAFE_RANGE or PORTSAFE_LINGER is refused with 125 and one line whether or not a supervisor is
already running (a running supervisor never reads them again), and COMMAND never runs."""
import pytest

from portsafe_testlib import PYTHON
from securitylib import HoldingJob, assert_one_line

BAD = [("PORTSAFE_RANGE", "garbage"), ("PORTSAFE_RANGE", "70000-80000"), ("PORTSAFE_RANGE", "3000-2000"),
       ("PORTSAFE_LINGER", "abc"), ("PORTSAFE_LINGER", "99999999"), ("PORTSAFE_LINGER", "1.5")]

BIND = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"


def launch(ps, name, value):
    marker = ps.tmp / "ran"
    out = ps.run([ps.program("portsafe-run"), "--", "touch", str(marker)], env=dict(ps.env, **{name: value}),
                 timeout=30)
    return out, marker.exists()


@pytest.mark.parametrize("name,value", BAD)
def test_refused_without_a_supervisor(ps, name, value):
    out, ran = launch(ps, name, value)
    assert not ran
    assert out.returncode == 125, out.stderr
    assert_one_line(out, "portsafe-run", name, value)


@pytest.mark.parametrize("name,value", BAD)
def test_refused_the_same_way_with_a_supervisor_running(ps, name, value):
    job = HoldingJob(ps, ["web"])  # the supervisor is up and owns the table
    try:
        out, ran = launch(ps, name, value)
        assert not ran
        assert out.returncode == 125, out.stderr
        assert_one_line(out, "portsafe-run", name, value)
    finally:
        job.stop()


def test_a_range_outside_the_running_tables_range_is_refused(ps):
    ps.env["PORTSAFE_RANGE"] = "21000-21099"  # the range the supervisor's table is made with
    job = HoldingJob(ps, ["web"])
    try:
        outside = "21200-21210"
        out, ran = launch(ps, "PORTSAFE_RANGE", outside)
        assert not ran
        assert out.returncode == 125, out.stderr
        assert_one_line(out, "portsafe-run", f"PORTSAFE_RANGE={outside}", "table's range")
    finally:
        job.stop()


def test_a_good_range_inside_the_running_tables_range_is_the_jobs_range(ps):
    ps.env["PORTSAFE_RANGE"] = "21000-21099"
    job = HoldingJob(ps, ["web"])
    try:
        out = ps.run([ps.program("portsafe-run"), "--", PYTHON, "-c", BIND],
                     env=dict(ps.env, PORTSAFE_RANGE="21003-21005"), timeout=30)
        assert out.returncode == 0, out.stderr
        assert 21003 <= int(out.stdout) <= 21005, out.stdout
        assert out.stderr == ""
    finally:
        job.stop()
