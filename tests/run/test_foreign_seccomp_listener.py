"""Under a seccomp listener that is not portsafe's (a sandbox, a container runtime: the kernel
then refuses portsafe's filter with EBUSY), the job has the shim alone and says so: --intercept
auto runs COMMAND after one warning naming EBUSY, with PORTSAFE_INTERCEPT=preload; --intercept
seccomp refuses with 125 and COMMAND never runs. Nothing claims the foreign listener serves the
job's binds."""
import os
import platform

import pytest

from run_helpers import PYTHON, run_prog

FOREIGN = os.path.join(os.path.dirname(__file__), "foreign_seccomp_listener.py")
pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="the test listener's filter is x86_64's")


def test_auto_warns_and_runs_with_the_shim_alone(ps):
    marker = ps.tmp / "ran"
    out = ps.run([PYTHON, FOREIGN, run_prog(ps), "--intercept", "auto", "--", "sh", "-c",
                  f'echo "$PORTSAFE_INTERCEPT" > {marker}'])
    assert out.returncode == 0, out.stderr
    warnings = [l for l in out.stderr.splitlines() if "seccomp interception unavailable" in l]
    assert len(warnings) == 1, out.stderr
    assert "EBUSY" in warnings[0] and "preload shim alone" in warnings[0]
    assert marker.read_text().strip() == "preload"


def test_forced_seccomp_refuses_with_125(ps):
    marker = ps.tmp / "ran"
    out = ps.run([PYTHON, FOREIGN, run_prog(ps), "--intercept", "seccomp", "--", "touch", str(marker)])
    assert out.returncode == 125, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "EBUSY" in lines[0] and "--intercept preload" in lines[0], out.stderr
    assert not marker.exists()
