"""A job that runs its own seccomp listener (runc, podman, another sandbox) keeps working: inside
`portsafe-run --intercept seccomp` the kernel refuses that second listener at once with EBUSY (one
per process tree), and the program's own binds are still served from the job's range. Bare, the
same program gets its listener (so the EBUSY is the job's doing)."""
import shlex

import interceptlib as il

RANGE = (31000, 31019)


def run_program(ps, launcher):
    program = il.built_program("intercept_own_listener")
    out = ps.run(launcher + ["sh", "-c", shlex.quote(program)], timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    listener, bind = out.stdout.splitlines()
    return listener.split()[1], int(bind.split()[1])


def test_own_listener_inside_a_seccomp_job(ps):
    ps.set_range(*RANGE)
    listener, _ = run_program(ps, [])
    assert listener == "ok"
    listener, port = run_program(ps, [ps.program("portsafe-run"), "--intercept", "seccomp", "--"])
    assert listener == "EBUSY"
    assert RANGE[0] <= port <= RANGE[1], port
