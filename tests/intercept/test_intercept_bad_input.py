"""A bad --intercept value exits 125 with one line naming the choices, and COMMAND never runs."""
import pytest

CASES = [["--intercept", "garbage"], ["--intercept", ""], ["--intercept", "sandbox"]]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) or "empty" for c in CASES])
def test_bad_intercept_value_is_refused_with_one_line(ps, args):
    marker = ps.tmp / "ran"
    out = ps.run([ps.program("portsafe-run")] + args + ["--", "touch", str(marker)])
    assert out.returncode == 125, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    line = lines[0]
    assert line.startswith("portsafe-run: ") and "--intercept" in line, line
    assert all(choice in line for choice in ("auto", "preload", "seccomp")), f"the line does not name the choices: {line}"
    assert not marker.exists()
