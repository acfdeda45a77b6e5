"""Where the seccomp filter cannot go in, --intercept auto falls back to the shim alone with one
warning naming why, and COMMAND runs (told PORTSAFE_INTERCEPT=preload); --intercept seccomp
refuses with 125 and one line, and COMMAND never runs. Two such places: a sandbox that answers
seccomp(2) with EPERM, and another seccomp listener (a sandbox's or a container runtime's) already
serving the process tree, which the kernel answers with EBUSY: its answers are not portsafe's rules,
so nothing may claim it covers the job."""
import os
import platform

import pytest

from run_helpers import PYTHON, run_prog

HERE = os.path.dirname(__file__)
SANDBOXES = {
    "seccomp refused": (os.path.join(HERE, "seccomp_refused.py"), "Operation not permitted"),
    "foreign listener": (os.path.join(HERE, "foreign_seccomp_listener.py"), "EBUSY"),
}
pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="the sandboxes' filters are x86_64's")


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_auto_falls_back_to_the_shim_with_one_warning(ps, sandbox):
    wrapper, reason = SANDBOXES[sandbox]
    marker = ps.tmp / "ran"
    out = ps.run([PYTHON, wrapper, run_prog(ps), "--intercept", "auto", "--", "sh", "-c",
                  f'echo "$PORTSAFE_INTERCEPT" > {marker}'])
    assert out.returncode == 0, out.stderr
    warnings = [l for l in out.stderr.splitlines() if "seccomp interception unavailable" in l]
    assert len(warnings) == 1, out.stderr
    assert reason in warnings[0] and "preload shim alone" in warnings[0]
    assert marker.read_text().strip() == "preload", "COMMAND ran, told the filter is not there"


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_forced_seccomp_refuses_with_125_and_command_never_runs(ps, sandbox):
    wrapper, reason = SANDBOXES[sandbox]
    marker = ps.tmp / "ran"
    out = ps.run([PYTHON, wrapper, run_prog(ps), "--intercept", "seccomp", "--", "touch", str(marker)])
    assert out.returncode == 125, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "cannot install the seccomp bind filter" in lines[0] and "--intercept preload" in lines[0]
    assert reason in lines[0]
    assert not marker.exists()
