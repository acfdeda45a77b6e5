"""{{NAME}} in COMMAND's arguments becomes the reserved port; other braces pass untouched."""
from run_helpers import run_prog


def test_placeholders_become_ports(ps):
    out = ps.run([run_prog(ps), "--port", "db", "--port", "web-ui/udp", "--",
                  "sh", "-c", 'echo "$0 $1 $2 $PORTSAFE_PORT_DB $PORTSAFE_PORT_WEB_UI"',
                  "{{db}}:5432", "http://h:{{web-ui}}/", "{{DB}}"])
    assert out.returncode == 0, out.stderr
    a, b, c, db, web = out.stdout.split()
    assert a == f"{db}:5432"
    assert b == f"http://h:{web}/"
    assert c == db


def test_go_templates_and_single_braces_untouched(ps):
    args = ["{{.Names}}", "{{ json . }}", "{db}", "${{x y}}"]
    out = ps.run([run_prog(ps), "--port", "db", "--", "printf", "%s\\n"] + args)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == args


def test_shell_leaves_double_braces_alone(ps):
    # The syntax is chosen so that an unquoted {{db}} survives sh/bash (no brace expansion).
    for shell in ("sh", "bash"):
        out = ps.run([shell, "-c", f"{run_prog(ps)} --port db -- echo {{{{db}}}}"])
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().isdigit(), (shell, out.stdout)
