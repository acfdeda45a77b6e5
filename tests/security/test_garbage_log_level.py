"""A garbage PORTSAFE_LOG (e.g. `verbose`) is never silently swallowed: every program and the shim
say once, in one line naming the accepted values, that it is ignored; they keep the default level
and their exit codes. A job says it once (its launcher), not once per process."""
import pytest

from portsafe_testlib import PYTHON
from securitylib import assert_one_line

BAD = ["verbose", "7", "DEBUG"]
ACCEPTED = "off, warn, info or debug"


def named(line, value):
    return f"PORTSAFE_LOG='{value}'" in line and ACCEPTED in line


@pytest.mark.parametrize("value", BAD)
def test_admin_names_the_fix(ps, value):
    out = ps.run([ps.program("portsafe"), "status"], env=dict(ps.env, PORTSAFE_LOG=value), timeout=30)
    assert out.returncode == 0, out.stderr
    assert_one_line(out, "portsafe", f"PORTSAFE_LOG='{value}'", ACCEPTED)


@pytest.mark.parametrize("value", BAD)
def test_launcher_names_the_fix_once_per_job(ps, value):
    # COMMAND (preloaded, and its child) stays quiet: the launcher has said it for the whole job.
    code = f"import subprocess; subprocess.run([{PYTHON!r}, '-c', 'import socket; socket.socket().bind((\"127.0.0.1\", 0))'])"
    out = ps.run([ps.program("portsafe-run"), "--", PYTHON, "-c", code], env=dict(ps.env, PORTSAFE_LOG=value),
                 timeout=30)
    assert out.returncode == 0, out.stderr
    assert_one_line(out, "portsafe-run", f"PORTSAFE_LOG='{value}'", ACCEPTED)


def test_launcher_exit_status_unchanged(ps):
    out = ps.run([ps.program("portsafe-run"), "--", "sh", "-c", "exit 3"], env=dict(ps.env, PORTSAFE_LOG="verbose"),
                 timeout=30)
    assert out.returncode == 3, out.stderr
    assert_one_line(out, "portsafe-run", "PORTSAFE_LOG='verbose'")


def test_quiet_launcher_says_nothing(ps):
    out = ps.run([ps.program("portsafe-run"), "--quiet", "--", "true"], env=dict(ps.env, PORTSAFE_LOG="verbose"),
                 timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""


def test_supervisor_names_the_fix(ps):
    out = ps.run([ps.program("portsafed"), "--foreground", "--idle-timeout", "1"],
                 env=dict(ps.env, PORTSAFE_LOG="verbose"), timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "PORTSAFE_LOG" in line]
    assert len(lines) == 1 and lines[0].startswith("portsafed: ") and named(lines[0], "verbose"), out.stderr


def test_docker_proxy_names_the_fix(ps):
    env = dict(ps.env, PORTSAFE_LOG="verbose")
    out = ps.run([ps.program("portsafe-docker-proxy"), "-v"], env=env, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "version" in out.stdout
    assert_one_line(out, "portsafe-docker-proxy", "PORTSAFE_LOG='verbose'", ACCEPTED)
    usage = ps.run([ps.program("portsafe-docker-proxy"), "-bogus", "1"], env=env, timeout=30)
    assert usage.returncode == 2, usage.stderr  # the documented usage code, unchanged
    assert sum("PORTSAFE_LOG" in line for line in usage.stderr.splitlines()) == 1, usage.stderr


def test_shim_names_the_fix_once(ps):
    # The preloaded process leads its own job; its child inherits the job and stays quiet.
    code = ("import socket, subprocess; socket.socket().bind(('127.0.0.1', 0)); "
            f"subprocess.run([{PYTHON!r}, '-c', 'import socket; socket.socket().bind((\"127.0.0.1\", 0))'])")
    out = ps.run([PYTHON, "-c", code], env=ps.preload_env(PORTSAFE_LOG="verbose"), timeout=30)
    assert out.returncode == 0, out.stderr
    assert_one_line(out, "shim", f"PORTSAFE_LOG='verbose'", ACCEPTED)


@pytest.mark.parametrize("value", ["warn", "info", "2", ""])
def test_accepted_values_are_not_reported(ps, value):
    out = ps.run([ps.program("portsafe"), "status"], env=dict(ps.env, PORTSAFE_LOG=value), timeout=30)
    assert out.returncode == 0, out.stderr
    assert "PORTSAFE_LOG" not in out.stderr
