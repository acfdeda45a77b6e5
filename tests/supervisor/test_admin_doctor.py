"""`portsafe doctor`: checks range, table, supervisor and runtime directory; with `-- COMMAND`,
says whether the shim reaches that program and what protects it otherwise."""
import os
import shutil
import subprocess

import pytest

from supervisor_wire import start_supervisor


def doctor(ps, *args, env=None):
    return ps.run([ps.program("portsafe"), "doctor", *args], env=env)


def test_doctor_on_a_healthy_setup(ps):
    start_supervisor(ps)
    out = doctor(ps)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FAIL" not in out.stdout
    assert f"supervisor pid {ps.supervisor_pid()} answers" in out.stdout
    assert "port table" in out.stdout and "healthy" in out.stdout
    assert "ephemeral range" in out.stdout


def test_doctor_reports_a_bad_range(ps):
    env = dict(ps.env, PORTSAFE_RANGE="70000-80000")
    out = doctor(ps, env=env)
    assert out.returncode == 1
    assert any(line.startswith("FAIL") and "range" in line.lower() for line in out.stdout.splitlines()), out.stdout


def test_doctor_warns_when_the_range_overlaps_the_ephemeral_range(ps):
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low, _high = map(int, f.read().split())
    env = dict(ps.env, PORTSAFE_RANGE=f"{low - 10}-{low + 10}")
    out = doctor(ps, env=env)
    assert out.returncode == 0
    assert any(line.startswith("warn") and "overlaps" in line for line in out.stdout.splitlines())


def test_doctor_reports_a_corrupt_table(ps):
    from portsafe_testlib import table_shm_path
    with open(table_shm_path(ps.runtime_dir), "wb") as f:
        f.write(b"garbage" * 100)
    out = doctor(ps)
    assert out.returncode == 1
    assert "portsafe gc --reset" in out.stdout


def test_doctor_says_a_dynamic_program_is_reachable(ps):
    out = doctor(ps, "--", "/bin/true")
    assert out.returncode == 0, out.stdout
    assert "the shim reaches it" in out.stdout


def test_doctor_says_what_protects_a_static_program(ps, tmp_path):
    if not shutil.which("gcc"):
        pytest.skip("gcc not installed")
    source = tmp_path / "hello.c"
    source.write_text("int main(void) { return 0; }\n")
    binary = tmp_path / "hello-static"
    subprocess.run(["gcc", "-static", "-o", str(binary), str(source)], check=True, timeout=60)
    out = doctor(ps, "--", str(binary))
    assert out.returncode == 0, out.stdout
    line = next(l for l in out.stdout.splitlines() if str(binary) in l)
    # The shim cannot reach it; this kernel (5.6+) has the seccomp tier, which portsafe-run's
    # --intercept auto turns on for a static COMMAND.
    assert line.startswith("ok"), line
    assert "cannot reach" in line and "seccomp tier" in line


def test_doctor_says_which_interception_a_job_gets(ps):
    out = doctor(ps)
    assert out.returncode == 0, out.stdout
    lines = [l for l in out.stdout.splitlines() if "interception:" in l]
    assert len(lines) == 1, out.stdout
    # Tests run as root: CAP_SYS_ADMIN, so every job gets the filter under --intercept auto.
    expected = "preload shim + seccomp" if os.geteuid() == 0 else "seccomp too when COMMAND is static or Go"
    assert expected in lines[0], lines[0]


def test_doctor_shows_the_placeholder_syntax_where_a_static_program_is_not_covered(ps, tmp_path):
    # A kernel without the seccomp tier (its actions list hidden in a private mount namespace):
    # the static program is not covered, and the warning shows {{NAME}} as the user types it
    # (fmt's brace escaping once printed {NAME}).
    if not shutil.which("gcc") or os.geteuid() != 0:
        pytest.skip("needs gcc and root (a private mount namespace)")
    source = tmp_path / "hello.c"
    source.write_text("int main(void) { return 0; }\n")
    binary = tmp_path / "hello-static"
    subprocess.run(["gcc", "-static", "-o", str(binary), str(source)], check=True, timeout=60)
    out = ps.run(["unshare", "-m", "--", "sh", "-c",
                  'mount --bind /dev/null /proc/sys/kernel/seccomp/actions_avail && exec "$@"', "sh",
                  ps.program("portsafe"), "doctor", "--", str(binary)], timeout=60)
    line = next(l for l in out.stdout.splitlines() if str(binary) in l)
    assert line.startswith("warn"), out.stdout
    assert "cannot reach" in line and "--port" in line
    assert "{{NAME}}" in line and "{NAME}" not in line.replace("{{NAME}}", ""), line


def test_doctor_fails_for_a_missing_command(ps):
    out = doctor(ps, "--", "no-such-program-xyz")
    assert out.returncode == 1
    assert "not found" in out.stdout


def test_doctor_refuses_a_shared_runtime_directory(ps, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    out = doctor(ps, env=dict(ps.env, PORTSAFE_RUNTIME_DIR=str(shared)))
    assert out.returncode == 1
    assert "chmod 700" in out.stdout + out.stderr
