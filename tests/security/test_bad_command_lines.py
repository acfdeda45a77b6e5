"""Bad command lines of every program: the documented usage exit code (portsafe-run 125; portsafe,
portsafed, portsafe-docker-proxy 2), a message naming what was wrong, never a crash, and nothing
started."""
import pytest

from securitylib import assert_refused

CASES = [
    # program, args, exit code, words the first line names
    ("portsafe-run", ["--bogus", "--", "true"], 125, ["--bogus"]),
    ("portsafe-run", ["--port", "a b", "--", "true"], 125, ["letters, digits"]),
    ("portsafe-run", ["--port", "web/sctp", "--", "true"], 125, ["udp"]),
    ("portsafe-run", ["--range", "2000-1000", "--", "true"], 125, ["LOW-HIGH"]),
    ("portsafe-run", ["--linger", "soon", "--", "true"], 125, ["--linger"]),
    ("portsafe-run", ["--port"], 125, ["--port"]),
    ("portsafe-run", [], 125, ["COMMAND"]),
    ("portsafe", [], 2, ["subcommand"]),
    ("portsafe", ["--bogus", "status"], 2, ["--bogus"]),
    ("portsafe", ["stauts"], 2, ["stauts"]),
    ("portsafe", ["status", "--json=maybe"], 2, ["json"]),
    ("portsafe", ["gc", "--reset", "extra"], 2, ["extra"]),
    ("portsafe", ["--runtime-dir"], 2, ["--runtime-dir"]),
    ("portsafed", ["--bogus"], 2, ["--bogus"]),
    ("portsafed", ["--idle-timeout", "soon"], 2, ["--idle-timeout"]),
    ("portsafed", ["--idle-timeout", "-1"], 2, ["--idle-timeout"]),
    ("portsafed", ["--idle-timeout", "99999999999999999999"], 2, ["--idle-timeout"]),
    ("portsafed", ["--log-level", "loud"], 2, ["--log-level"]),
    ("portsafed", ["--runtime-dir"], 2, ["--runtime-dir"]),
    ("portsafe-docker-proxy", ["-bogus"], 2, ["-bogus"]),
    ("portsafe-docker-proxy", ["-host-port", "abc"], 2, ["-host-port"]),
    ("portsafe-docker-proxy", ["-host-port", "70000", "-container-ip", "127.0.0.1", "-container-port", "80"], 2,
     ["-host-port"]),
    ("portsafe-docker-proxy", ["-proto", "icmp", "-host-port", "1", "-container-ip", "127.0.0.1",
                               "-container-port", "80"], 2, ["icmp"]),
    ("portsafe-docker-proxy", ["-host-port", "8080", "-container-ip", "not-an-ip", "-container-port", "80"], 2,
     ["not-an-ip"]),
]


def case_id(case):
    program, args = (case.values if hasattr(case, "values") else case)[:2]
    return f"{program} {' '.join(args)}"


@pytest.mark.parametrize("program,args,code,words", CASES, ids=[case_id(c) for c in CASES])
def test_bad_command_line(ps, program, args, code, words):
    out = ps.run([ps.program(program)] + args, timeout=30)
    # Go's flag package (which docker-proxy's CLI follows) prints the usage after the error; the
    # others say it in one line (CLI11 adds a "Run with --help" hint).
    if program == "portsafe-docker-proxy":
        lines = [line for line in out.stderr.splitlines() if line.startswith(f"{program}: ")]
        assert out.returncode == code and lines, out.stderr
        assert all(word in lines[0] for word in words), lines[0]
    elif program == "portsafe-run":
        assert_refused(out, code, program, *words)
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    else:
        # CLI11's message has no program prefix: check the code, the words and the length.
        assert out.returncode == code, out.stderr
        lines = out.stderr.strip().splitlines()
        assert 1 <= len(lines) <= 2 and all(word in lines[0] for word in words), out.stderr
    assert "Sanitizer" not in out.stderr and "terminate called" not in out.stderr
    assert ps.supervisor_pid() is None  # a refused command line starts nothing
