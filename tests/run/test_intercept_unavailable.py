"""Where the seccomp filter cannot go in (here: a sandbox answers seccomp(2) with EPERM),
--intercept auto falls back to the shim alone with one warning and COMMAND runs; --intercept
seccomp refuses with 125 and one line, and COMMAND never runs."""
import os
import platform

import pytest

from run_helpers import PYTHON, run_prog

REFUSER = os.path.join(os.path.dirname(__file__), "seccomp_refused.py")
pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="the refusing filter is x86_64's")


def test_auto_falls_back_to_the_shim_with_one_warning(ps):
    marker = ps.tmp / "ran"
    out = ps.run([PYTHON, REFUSER, run_prog(ps), "--intercept", "auto", "--", "sh", "-c",
                  f'echo "$PORTSAFE_INTERCEPT" > {marker}'])
    assert out.returncode == 0, out.stderr
    warnings = [l for l in out.stderr.splitlines() if "seccomp interception unavailable" in l]
    assert len(warnings) == 1, out.stderr
    assert "Operation not permitted" in warnings[0] and "preload shim alone" in warnings[0]
    assert marker.read_text().strip() == "preload", "COMMAND ran, told the filter is not there"


def test_forced_seccomp_refuses_with_125_and_command_never_runs(ps):
    marker = ps.tmp / "ran"
    out = ps.run([PYTHON, REFUSER, run_prog(ps), "--intercept", "seccomp", "--", "touch", str(marker)])
    assert out.returncode == 125, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "cannot install the seccomp bind filter" in lines[0] and "--intercept preload" in lines[0]
    assert not marker.exists()
