"""Bad input exits 125 with one line naming the fix, and COMMAND never runs."""
import pytest

from run_helpers import run_prog

CASES = [
    (["--bogus"], "unknown option"),
    (["--port", "a.b"], "letters, digits"),
    (["--port", "db/sctp"], "NAME/udp"),
    (["--listen", "we b"], "letters, digits"),
    (["--port", "db", "--listen", "DB"], "given twice"),
    (["--port", "a-b", "--port", "a_b"], "given twice"),
    (["--range", "99999-100000"], "LOW-HIGH"),
    (["--range", "3000-2000"], "LOW-HIGH"),
    (["--range", "abc"], "LOW-HIGH"),
    (["--linger", "-1"], "whole seconds"),
    (["--job", ""], "--job"),
    (["-q", "-v"], "give one"),
]


@pytest.mark.parametrize("args,fix", CASES, ids=[" ".join(c[0]) or "empty" for c in CASES])
def test_refused_with_one_line(ps, args, fix):
    marker = ps.tmp / "ran"
    out = ps.run([run_prog(ps)] + args + ["--", "touch", str(marker)])
    assert out.returncode == 125, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("portsafe-run: ") and fix in lines[0], lines[0]
    assert not marker.exists()


def test_unknown_option_without_separator(ps):
    out = ps.run([run_prog(ps), "--prot", "db", "true"])
    assert out.returncode == 125
    assert "--prot" in out.stderr


def test_missing_command(ps):
    for args in ([], ["--port", "db"], ["--port", "db", "--"]):
        out = ps.run([run_prog(ps)] + args)
        assert out.returncode == 125, args
        assert "COMMAND" in out.stderr


def test_unknown_placeholder(ps):
    marker = ps.tmp / "ran"
    out = ps.run([run_prog(ps), "--port", "db", "--", "sh", "-c", "touch $0", str(marker), "{{cache}}"])
    assert out.returncode == 125
    assert "--port cache" in out.stderr
    assert not marker.exists()


def test_range_outside_table(ps):
    # The table is created with PORTSAFE_RANGE; a job's --range must lie inside it.
    ps.set_range(20000, 20999)
    assert ps.run([run_prog(ps), "--range", "20100-20199", "--", "true"]).returncode == 0
    marker = ps.tmp / "ran"
    out = ps.run([run_prog(ps), "--range", "21000-21999", "--", "touch", str(marker)])
    assert out.returncode == 125
    assert "20000-20999" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not marker.exists()
