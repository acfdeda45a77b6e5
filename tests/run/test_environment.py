"""COMMAND's environment: shim preloaded (first, once), job variables, ports, range, linger, CI job
names; the supervisor connection does not leak into COMMAND; --print, --quiet, --verbose."""
import json
import os

from run_helpers import PYTHON, parse_print, run_prog, status_json

DUMP_ENV = [PYTHON, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]


def child_env(ps, args, env=None):
    out = ps.run([run_prog(ps)] + args + ["--"] + DUMP_ENV, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), out.stderr


def test_job_variables_and_ports(ps):
    env, stderr = child_env(ps, ["--print", "--port", "db-main", "--port", "dns/udp"])
    assert env["LD_PRELOAD"] == os.path.realpath(ps.shim)
    assert env["PORTSAFE_RUNTIME_DIR"] == ps.runtime_dir
    assert env["PORTSAFE_JOB"].startswith("run-")
    pid, _, start = env["PORTSAFE_JOB_ID"].partition(".")
    assert pid.isdigit() and start.isdigit()
    printed = parse_print(stderr)
    assert printed == {"db-main": int(env["PORTSAFE_PORT_DB_MAIN"]), "dns": int(env["PORTSAFE_PORT_DNS"])}
    assert "dns=%s/udp" % env["PORTSAFE_PORT_DNS"] in stderr
    assert "PORTSAFE_RANGE" not in env and "PORTSAFE_LINGER" not in env and "LISTEN_FDS" not in env


def test_preload_prepended_once(ps):
    other = "/usr/lib/x86_64-linux-gnu/libm.so.6"
    base = dict(ps.env, LD_PRELOAD=f"{ps.shim} {other}")
    env, _ = child_env(ps, [], env=base)
    assert env["LD_PRELOAD"] == f"{os.path.realpath(ps.shim)}:{other}"


def test_range_linger_and_job(ps):
    ps.set_range(20000, 20999)
    env, _ = child_env(ps, ["--range", "20100-20199", "--linger", "7", "--job", "nightly-e2e"])
    assert env["PORTSAFE_RANGE"] == "20100-20199"
    assert env["PORTSAFE_LINGER"] == "7"
    assert env["PORTSAFE_JOB"] == "nightly-e2e"


def test_ci_job_names(ps):
    github = dict(ps.env, GITHUB_ACTIONS="true", GITHUB_JOB="test", GITHUB_RUN_ID="123", GITHUB_RUN_ATTEMPT="2")
    assert child_env(ps, [], env=github)[0]["PORTSAFE_JOB"] == "github:test/123/2"
    gitlab = dict(ps.env, GITLAB_CI="true", CI_JOB_NAME="unit", CI_JOB_ID="77")
    assert child_env(ps, [], env=gitlab)[0]["PORTSAFE_JOB"] == "gitlab:unit/77"
    # --job wins over the CI default.
    assert child_env(ps, ["--job", "mine"], env=gitlab)[0]["PORTSAFE_JOB"] == "mine"


def test_job_name_shows_in_status(ps):
    out = ps.run([run_prog(ps), "--job", "shown-job", "--port", "web", "--",
                  ps.program("portsafe"), "status", "--json"])
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert any(r["job"] == "shown-job" and r["state"] == "held" for r in rows), rows


def test_supervisor_connection_not_inherited(ps):
    # COMMAND's descriptors are exactly what a bare run of it gets: the job connection stays ours.
    listing = [PYTHON, "-c", "import os; print(sorted(os.listdir('/proc/self/fd')))"]
    bare = ps.run(listing)
    wrapped = ps.run([run_prog(ps), "--port", "web", "--"] + listing)
    assert wrapped.returncode == 0, wrapped.stderr
    assert wrapped.stdout == bare.stdout
    # ...and nothing in COMMAND is a socket connected to the supervisor.
    sockets = ps.run([run_prog(ps), "--", "sh", "-c", "ls -l /proc/$$/fd | grep -c socket || true"])
    assert sockets.stdout.strip() == "0"


def test_quiet_and_verbose(ps):
    verbose = ps.run([run_prog(ps), "-v", "--port", "web", "--", "true"])
    assert verbose.returncode == 0
    assert "job 'run-" in verbose.stderr and "as web" in verbose.stderr
    quiet = ps.run([run_prog(ps), "-q", "--", "/sbin/ldconfig", "--version"])  # static: would warn
    assert quiet.returncode == 0 and quiet.stderr == ""
    default = ps.run([run_prog(ps), "--port", "web", "--", "true"])
    assert default.stderr == ""


def test_range_limits_the_commands_port_zero_picks(ps):
    # End to end through the shim: COMMAND's bind(0) ports come from --range.
    ps.set_range(20000, 20999)
    picker = "import socket\nfor _ in range(5):\n    s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
    out = ps.run([run_prog(ps), "--range", "20100-20109", "--", PYTHON, "-c", picker])
    assert out.returncode == 0, out.stderr
    ports = [int(p) for p in out.stdout.split()]
    assert len(ports) == 5 and all(20100 <= p <= 20109 for p in ports), ports
