"""A portsafe-run inside another joins the outer job: same PORTSAFE_JOB_ID and name, its own
ports added (and released when it ends) while the outer job's stay held."""
import json
import textwrap

import portsafe_testlib as tl
from run_helpers import PYTHON, run_prog

INNER_REPORT = [PYTHON, "-c", "import json, os; print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('PORTSAFE_')}))"]


def test_inner_run_joins_outer_job(ps):
    inner = [run_prog(ps), "--port", "inner", "--"] + INNER_REPORT
    script = 'echo "$PORTSAFE_JOB_ID $PORTSAFE_JOB $PORTSAFE_PORT_OUTER"; "$@"; echo "inner-exit $?"'
    out = ps.run([run_prog(ps), "--job", "outer-job", "--port", "outer", "--", "sh", "-c", script, "sh"] + inner)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    outer_id, outer_name, outer_port = lines[0].split()
    seen = json.loads(lines[1])
    assert lines[2] == "inner-exit 0"
    assert seen["PORTSAFE_JOB_ID"] == outer_id
    assert seen["PORTSAFE_JOB"] == outer_name == "outer-job"
    assert seen["PORTSAFE_PORT_OUTER"] == outer_port  # the outer job's ports stay visible
    assert seen["PORTSAFE_PORT_INNER"] != outer_port


CHECK_AFTER_INNER = textwrap.dedent("""
    # Runs the inner portsafe-run (argv[1:]), then asks the kernel (no shim here) about the ports.
    import os, socket, subprocess, sys, time
    inner_port = int(subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True).stdout)
    def bindable(port):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return True
            except OSError:
                return False
    deadline = time.monotonic() + 1.0  # the supervisor releases a job's ports promptly
    while not bindable(inner_port) and time.monotonic() < deadline:
        time.sleep(0.01)
    print("inner-free" if bindable(inner_port) else "inner-held")
    print("outer-free" if bindable(int(os.environ["PORTSAFE_PORT_OUTER"])) else "outer-held")
""")


def test_inner_ports_released_when_inner_ends_outer_still_held(ps):
    checker = ps.tmp / "check.py"
    checker.write_text(CHECK_AFTER_INNER)
    inner = [run_prog(ps), "--port", "inner", "--", "sh", "-c", "echo $PORTSAFE_PORT_INNER"]
    # The checks run without the shim (LD_PRELOAD unset) and without the seccomp tier (which, as
    # root, would apply the shim's rules to them too) so that only the kernel answers.
    out = ps.run([run_prog(ps), "--intercept", "preload", "--port", "outer", "--", "env", "-u", "LD_PRELOAD", PYTHON, str(checker)] + inner)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["inner-free", "outer-held"], out.stdout


def test_dead_outer_leader_starts_a_new_job(ps):
    # pid 1 is alive, but not with start time 1: the identity names a process that has ended.
    env = dict(ps.env, PORTSAFE_JOB_ID="1.1", PORTSAFE_JOB="gone")
    out = ps.run([run_prog(ps), "--", "sh", "-c", "echo $PORTSAFE_JOB_ID $PORTSAFE_JOB"], env=env)
    assert out.returncode == 0
    job_id, name = out.stdout.split()
    assert job_id != "1.1" and name.startswith("run-")
    assert "has ended" in out.stderr and len(out.stderr.strip().splitlines()) == 1
