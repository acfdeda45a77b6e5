"""A portsafe-run --virtual 9090 inside a portsafe-run --virtual 8080 (the inner joins the outer
job): COMMAND has both virtual ports, each on its own real port, while outsiders hold 8080 and
9090. bpf mode: the inner job's cgroup is inside the outer's, so the outer's rewriting still
applies; shim mode: the inner portsafe-run keeps the outer's entries in PORTSAFE_VIRTUAL and adds
its own."""
import os

import virtuallib as vl
import portsafe_testlib as tl

PROGRAM = os.path.join(vl.HERE, "programs", "serve_and_ask_each.py")


def test_inner_job_has_the_outer_virtual_port_and_its_own(ps, mode):
    outsiders = [vl.Outsider(8080), vl.Outsider(9090)]
    try:
        run = ps.program("portsafe-run")
        out = ps.run([run, "--virtual-mode", mode, "--virtual", "8080", "--",
                      run, "--virtual-mode", mode, "--virtual", "9090", "--",
                      tl.PYTHON, PROGRAM, "8080", "9090"])
        assert vl.ask(8080) == "outsider" and vl.ask(9090) == "outsider"
    finally:
        for outsider in outsiders:
            outsider.close()
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["8080 8080 8080 mine", "9090 9090 9090 mine"], out.stdout + out.stderr
