"""Garbage in the environment (PORTSAFE_RANGE, PORTSAFE_LINGER, PORTSAFE_LOG, PORTSAFE_JOB_ID) gets
one clear line and the documented exit code from every program that reads it; the shim in a host
program never breaks it and warns once per process."""
import pytest

from portsafe_testlib import PYTHON
from securitylib import HoldingJob, assert_one_line

BAD_RANGES = ["garbage", "3000-2000", "80-90", "1024-70000", "20000-20009x", "-", "20000-"]
BAD_LINGERS = ["abc", "-5", "99999999", "1.5"]
BAD_LOGS = ["verbose", "7", "-1", "debug,info"]
BAD_JOB_IDS = ["abc", "1.2.3", "99999999.1", "0.0", "-1.5", "12.", ".12"]

BINDS = """
import socket
for _ in range(3):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()
"""


def run_shim_host(ps, **env):
    out = ps.run([PYTHON, "-c", BINDS], env=ps.preload_env(**env), timeout=30)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.split()) == 3
    return out


@pytest.mark.parametrize("value", BAD_RANGES)
def test_range_refused_by_supervisor(ps, value):
    out = ps.run([ps.program("portsafed"), "--foreground", "--idle-timeout", "1"],
                 env=dict(ps.env, PORTSAFE_RANGE=value), timeout=30)
    assert_one_line(out, "portsafed", "PORTSAFE_RANGE", "LOW-HIGH")
    assert out.returncode == 1


# Without a supervisor running (test_launcher_checks_environment_first.py: with one running).
@pytest.mark.parametrize("value", ["garbage", "3000-2000"])
def test_range_refused_by_launcher(ps, value):
    marker = ps.tmp / "ran"
    out = ps.run([ps.program("portsafe-run"), "--", "touch", str(marker)], env=dict(ps.env, PORTSAFE_RANGE=value),
                 timeout=30)
    assert not marker.exists()
    assert out.returncode == 125, out.stderr
    assert_one_line(out, "portsafe-run", "PORTSAFE_RANGE")


@pytest.mark.parametrize("value", BAD_RANGES)
def test_range_ignored_by_shim_with_one_warning(ps, value):
    out = run_shim_host(ps, PORTSAFE_RANGE=value)
    assert_one_line(out, "shim", "PORTSAFE_RANGE")


@pytest.mark.parametrize("value", BAD_LINGERS)
def test_linger_ignored_by_shim_with_one_warning(ps, value):
    out = run_shim_host(ps, PORTSAFE_LINGER=value)
    assert_one_line(out, "shim", "PORTSAFE_LINGER", "seconds")


@pytest.mark.parametrize("value", BAD_LOGS)
def test_unknown_log_level_changes_nothing(ps, value):
    # An unknown level means the default (warn): the programs work and say nothing but, at most,
    # one line about PORTSAFE_LOG itself.
    env = dict(ps.env, PORTSAFE_LOG=value)
    for args in ([ps.program("portsafe-run"), "--", "true"], [ps.program("portsafe"), "status"]):
        out = ps.run(args, env=env, timeout=30)
        assert out.returncode == 0, out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) <= 1 and all("PORTSAFE_LOG" in line for line in lines), out.stderr
    out = run_shim_host(ps, PORTSAFE_LOG=value)
    lines = out.stderr.strip().splitlines()
    assert len(lines) <= 1 and all("PORTSAFE_LOG" in line for line in lines), out.stderr


@pytest.mark.parametrize("value", BAD_JOB_IDS)
def test_job_id_ignored_by_launcher_with_one_line(ps, value):
    out = ps.run([ps.program("portsafe-run"), "--port", "web", "--", "sh", "-c", "echo $PORTSAFE_PORT_WEB"],
                 env=dict(ps.env, PORTSAFE_JOB_ID=value), timeout=30)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 0
    assert_one_line(out, "portsafe-run", "PORTSAFE_JOB_ID")


@pytest.mark.parametrize("value", BAD_JOB_IDS)
def test_job_id_ignored_by_shim_with_one_warning(ps, value):
    out = run_shim_host(ps, PORTSAFE_JOB_ID=value)
    assert_one_line(out, "shim", "PORTSAFE_JOB_ID")


def test_stale_job_id_does_not_reach_a_jobs_held_port(ps):
    # A process carrying a job's PORTSAFE_JOB_ID is part of that job (that is how nesting works),
    # and may bind the job's held port. The same pid with another start time is a reused pid, not
    # the leader: it gets nothing.
    job = HoldingJob(ps, ["web"])
    try:
        leader = job.proc.pid
        with open(f"/proc/{leader}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        code = f"import socket; s = socket.socket(); s.bind(('127.0.0.1', {job.ports['web']})); print('bound')"
        real = ps.run([PYTHON, "-c", code], env=ps.preload_env(PORTSAFE_JOB_ID=f"{leader}.{ticks}"), timeout=30)
        assert real.returncode == 0 and real.stdout.strip() == "bound", real.stderr
        stale = ps.run([PYTHON, "-c", code], env=ps.preload_env(PORTSAFE_JOB_ID=f"{leader}.{ticks + 1}"), timeout=30)
        assert stale.returncode != 0 and "Address already in use" in stale.stderr, stale.stderr
    finally:
        job.stop()
