"""One warning when COMMAND is a program the shim cannot reach (static, Go, set-id), naming what
still protects it; none for dynamic programs or with --quiet."""
import os
import subprocess

from run_helpers import run_prog


def test_static_binary_warns_once(ps):
    out = ps.run([run_prog(ps), "--", "/sbin/ldconfig", "--version"])
    assert out.returncode == 0
    warnings = [l for l in out.stderr.splitlines() if l.startswith("portsafe-run: warning")]
    assert len(warnings) == 1, out.stderr
    assert "/sbin/ldconfig" in warnings[0] and "statically linked" in warnings[0] and "--port" in warnings[0]


def test_warning_names_held_ports_when_given(ps):
    out = ps.run([run_prog(ps), "--port", "db", "--", "/sbin/ldconfig", "--version"])
    assert "still held" in out.stderr


def test_go_binary_warns(ps):
    fake_go = ps.tmp / "fake-go"
    payload = ps.tmp / "payload"
    payload.write_bytes(b"\xff Go buildinf:")
    subprocess.run(["objcopy", "--add-section", f".go.buildinfo={payload}", "/bin/true", str(fake_go)], check=True)
    out = ps.run([run_prog(ps), "--", str(fake_go)])
    assert out.returncode == 0
    assert "Go binary" in out.stderr


def test_script_on_static_interpreter_warns(ps):
    script = ps.tmp / "script"
    script.write_text("#!/sbin/ldconfig -p\n")
    os.chmod(script, 0o755)
    out = ps.run([run_prog(ps), "--", str(script)])
    assert "script run by /sbin/ldconfig" in out.stderr


def test_dynamic_and_quiet_do_not_warn(ps):
    assert ps.run([run_prog(ps), "--", "true"]).stderr == ""
    assert ps.run([run_prog(ps), "-q", "--", "/sbin/ldconfig", "--version"]).stderr == ""
