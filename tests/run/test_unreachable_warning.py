"""One warning when COMMAND is a program the shim cannot reach (static, Go, set-id) and the seccomp
tier is off (--intercept preload), naming what still protects it; none for dynamic programs, with
--quiet, or when the seccomp tier serves the program."""
import os
import subprocess

from run_helpers import run_prog


def test_static_binary_warns_once(ps):
    out = ps.run([run_prog(ps), "--intercept", "preload", "--", "/sbin/ldconfig", "--version"])
    assert out.returncode == 0
    warnings = [l for l in out.stderr.splitlines() if l.startswith("portsafe-run: warning")]
    assert len(warnings) == 1, out.stderr
    assert "/sbin/ldconfig" in warnings[0] and "statically linked" in warnings[0] and "--port" in warnings[0]


def test_warning_names_held_ports_when_given(ps):
    out = ps.run([run_prog(ps), "--intercept", "preload", "--port", "db", "--", "/sbin/ldconfig", "--version"])
    assert "still held" in out.stderr


def test_go_binary_warns(ps):
    fake_go = ps.tmp / "fake-go"
    payload = ps.tmp / "payload"
    payload.write_bytes(b"\xff Go buildinf:")
    subprocess.run(["objcopy", "--add-section", f".go.buildinfo={payload}", "/bin/true", str(fake_go)], check=True)
    out = ps.run([run_prog(ps), "--intercept", "preload", "--", str(fake_go)])
    assert out.returncode == 0
    assert "Go binary" in out.stderr


def test_script_on_static_interpreter_warns(ps):
    script = ps.tmp / "script"
    script.write_text("#!/sbin/ldconfig -p\n")
    os.chmod(script, 0o755)
    out = ps.run([run_prog(ps), "--intercept", "preload", "--", str(script)])
    assert "script run by /sbin/ldconfig" in out.stderr


def test_dynamic_and_quiet_do_not_warn(ps):
    assert ps.run([run_prog(ps), "--intercept", "preload", "--", "true"]).stderr == ""
    assert ps.run([run_prog(ps), "--intercept", "preload", "-q", "--", "/sbin/ldconfig", "--version"]).stderr == ""


def test_no_warning_when_the_seccomp_tier_serves_the_program(ps):
    out = ps.run([run_prog(ps), "--intercept", "seccomp", "--", "/sbin/ldconfig", "--version"])
    assert out.returncode == 0, out.stderr
    assert "warning" not in out.stderr
