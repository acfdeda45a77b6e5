"""portsafe-run exits with COMMAND's status, 128+N for signal N, 126/127 as env, 125 for itself."""
import os
import stat

from run_helpers import run_prog


def test_command_status_is_passed_through(ps):
    assert ps.run([run_prog(ps), "--", "true"]).returncode == 0
    assert ps.run([run_prog(ps), "--", "sh", "-c", "exit 3"]).returncode == 3
    assert ps.run([run_prog(ps), "--", "sh", "-c", "exit 255"]).returncode == 255


def test_death_by_signal_is_128_plus_n(ps):
    assert ps.run([run_prog(ps), "--", "sh", "-c", "kill -TERM $$"]).returncode == 128 + 15
    assert ps.run([run_prog(ps), "--", "sh", "-c", "kill -KILL $$"]).returncode == 128 + 9


def test_not_found_is_127(ps):
    out = ps.run([run_prog(ps), "--", "portsafe-no-such-command", "x"])
    assert out.returncode == 127
    assert "portsafe-no-such-command: command not found" in out.stderr
    assert ps.run([run_prog(ps), "--", str(ps.tmp / "missing")]).returncode == 127


def test_not_executable_is_126(ps):
    plain = ps.tmp / "plain.txt"
    plain.write_text("data\n")
    os.chmod(plain, 0o644)
    out = ps.run([run_prog(ps), "--", str(plain)])
    assert out.returncode == 126, out.stderr
    assert str(plain) in out.stderr
    assert ps.run([run_prog(ps), "--", str(ps.tmp)]).returncode == 126  # a directory


def test_file_without_shebang_runs_with_sh_like_execvp(ps):
    script = ps.tmp / "noshebang"
    script.write_text("exit 7\n")
    os.chmod(script, stat.S_IRWXU)
    assert ps.run([run_prog(ps), "--", str(script)]).returncode == 7


def test_own_failure_is_125(ps):
    # A runtime root that is not private is refused (never trusted): portsafe-run's own failure.
    open_dir = ps.tmp / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)
    env = dict(ps.env, PORTSAFE_RUNTIME_DIR=str(open_dir))
    out = ps.run([run_prog(ps), "--", "true"], env=env)
    assert out.returncode == 125
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_help_and_version_exit_0(ps):
    out = ps.run([run_prog(ps), "--help"])
    assert out.returncode == 0
    for documented in ("--port", "--listen", "--job", "--range", "--linger", "--print", "--quiet", "--verbose",
                       "{{NAME}}", "GITHUB_RUN_ID", "CI_JOB_ID", "BUILD_NUMBER", "BUILDKITE_JOB_ID", "125", "127"):
        assert documented in out.stdout, documented
    out = ps.run([run_prog(ps), "--version"])
    assert out.returncode == 0 and out.stdout.startswith("portsafe-run ")


def test_silent_supervisor_is_125_not_a_hang(ps):
    # Something listens on the supervisor's socket but never answers (a wedged supervisor).
    import socket
    with socket.socket(socket.AF_UNIX) as wedged:
        wedged.bind(os.path.join(ps.runtime_dir, "portsafed.sock"))
        wedged.listen(8)
        marker = ps.tmp / "ran"
        out = ps.run([run_prog(ps), "--", "touch", str(marker)], timeout=60)
    assert out.returncode == 125
    assert len(out.stderr.strip().splitlines()) == 1 and "supervisor" in out.stderr, out.stderr
    assert not marker.exists()
