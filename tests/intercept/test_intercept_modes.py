"""--intercept chooses the tier that serves a job's binds, and COMMAND is told which
(PORTSAFE_INTERCEPT): `seccomp` coordinates a Go program started by a dynamic shell, `preload`
leaves it to the kernel (the shim alone never sees its binds), and `auto` as root installs the
filter for every job. A portsafe-run nested in a seccomp job works under the outer filter."""
import os
import shlex

import pytest

import interceptlib as il

RANGE = (31000, 31019)


def one_pick(ps, go_worker, launcher):
    """Runs `sh -c GO_WORKER` (one port-0 listen) under launcher; returns (port, PORTSAFE_INTERCEPT)."""
    script = f'echo "intercept=$PORTSAFE_INTERCEPT"; {shlex.quote(go_worker)} -mode loop -rounds 1'
    out = ps.run(launcher + ["sh", "-c", script], timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("intercept=") and lines[1].startswith("ok "), out.stdout
    return int(lines[1].split()[1]), lines[0].partition("=")[2]


def in_range(port):
    return RANGE[0] <= port <= RANGE[1]


def test_seccomp_coordinates_a_go_program_under_a_shell(ps, go_worker):
    ps.set_range(*RANGE)
    port, tier = one_pick(ps, go_worker, [ps.program("portsafe-run"), "--intercept", "seccomp", "--"])
    assert tier == "seccomp"
    assert in_range(port), port


def test_preload_leaves_a_go_program_to_the_kernel(ps, go_worker):
    ps.set_range(*RANGE)
    port, tier = one_pick(ps, go_worker, [ps.program("portsafe-run"), "--intercept", "preload", "--"])
    assert tier == "preload"
    assert not in_range(port), f"{port}: the shim alone cannot reach a Go program's bind"


def test_auto_as_root_installs_the_filter(ps, go_worker):
    if os.geteuid() != 0:
        pytest.skip("auto turns the seccomp tier on for every job only as root (or with CAP_SYS_ADMIN)")
    ps.set_range(*RANGE)
    port, tier = one_pick(ps, go_worker, [ps.program("portsafe-run"), "--"])
    assert tier == "seccomp"
    assert in_range(port), port


def test_nested_launcher_works_under_the_outer_filter(ps, go_worker):
    ps.set_range(*RANGE)
    run = ps.program("portsafe-run")
    port, tier = one_pick(ps, go_worker, [run, "--intercept", "seccomp", "--", run, "--intercept", "seccomp", "--"])
    assert tier == "seccomp"
    assert in_range(port), port
