"""The job's exit frees its real ports and removes its cgroup; after a SIGKILL of portsafe-run the
supervisor frees the real ports and the next portsafe-run removes the cgroup left behind. The ports
in both modes; the cgroup checks in bpf mode only (shim mode makes no cgroup)."""
import json
import os
import signal
import time

import virtuallib as vl
import portsafe_testlib as tl


def held_virtual_ports(ps):
    out = ps.run([ps.program("portsafe"), "status", "--json"])
    return {(r["proto"], r["port"]) for r in json.loads(out.stdout or "[]") if r["virtual_port"]}


def test_exit_frees_the_real_ports_and_removes_the_cgroup(ps, mode):
    before = vl.job_cgroups()
    out = ps.run([ps.program("portsafe-run"), "--virtual-mode", mode, "--virtual", "8080", "--virtual", "53/udp", "--",
                  "sh", "-c", "echo $PORTSAFE_REAL_PORT_8080 $PORTSAFE_REAL_PORT_53; cat /proc/self/cgroup"])
    assert out.returncode == 0, out.stderr
    tcp, udp = map(int, out.stdout.split()[:2])
    inside = [line for line in out.stdout.splitlines() if line.startswith("0::")][0]
    if mode == "bpf":
        assert vl.CGROUP_PREFIX in inside, f"COMMAND did not run in a job cgroup: {inside}"
        # COMMAND ran in it, so it existed; it must have been where job_cgroups() looks, or the
        # check below that it is gone would check nothing.
        name = os.path.basename(inside[3:].rstrip("/"))
        made_in = os.path.dirname(vl.cgroup2_mount() + inside[3:].rstrip("/"))
        assert os.path.realpath(made_in) == os.path.realpath(vl.job_cgroup_parent()), (inside, vl.job_cgroup_parent())
        assert name.startswith(f"{vl.CGROUP_PREFIX}{os.stat('/proc/self/ns/pid').st_ino}-"), name
        assert not os.path.exists(vl.job_cgroup_path(name)), "the job's cgroup is left behind"
    assert vl.job_cgroups() == before, "the job's cgroup is left behind"
    # The supervisor releases the holds when it sees the launcher's connection close, which may
    # come a moment after portsafe-run has exited: a bounded poll, as test_job_lifetime.py does.
    assert tl.wait_for(lambda: held_virtual_ports(ps) == set(), timeout=10), held_virtual_ports(ps)
    assert tl.port_is_bindable(tcp) and tl.port_is_bindable(udp, "udp")


def test_sigkill_of_portsafe_run_frees_the_ports_and_the_next_run_removes_its_cgroup(ps, mode, tmp_path):
    before = vl.job_cgroups()
    ready = tmp_path / "ready"
    job = vl.virtual_run(ps, mode, "killed", ["8080"], ["sh", "-c", f"echo $PORTSAFE_REAL_PORT_8080 > {ready}; exec sleep 60"])
    try:
        assert tl.wait_for(lambda: ready.exists() and ready.read_text().strip(), timeout=30)
        real = int(ready.read_text())
        left = vl.job_cgroups() - before
        if mode == "bpf":
            assert len(left) == 1, f"no job cgroup seen in {vl.job_cgroup_parent()} while the job ran: {left}"
            (left_name,) = left
            procs = os.path.join(vl.job_cgroup_path(left_name), "cgroup.procs")
            assert os.path.exists(procs), procs
        assert not tl.port_is_bindable(real)
        job.send_signal(signal.SIGKILL)
        job.wait()
        # sleep gets SIGTERM from its parent-death signal and ends; the supervisor sees the job's
        # connection close and frees the held port.
        assert tl.wait_for(lambda: tl.port_is_bindable(real), timeout=10), "the real port stays held"
        assert tl.wait_for(lambda: held_virtual_ports(ps) == set(), timeout=10)
        if mode == "bpf":
            assert tl.wait_for(lambda: not os.path.exists(procs) or open(procs).read() == "", timeout=10)
            assert vl.job_cgroups() - before == left, "the SIGKILLed launcher's cgroup is expected to be left"
            nxt = ps.run([ps.program("portsafe-run"), "--virtual-mode", mode, "--virtual", "8080", "--", "true"])
            assert nxt.returncode == 0, nxt.stderr
            assert vl.job_cgroups() - before == set(), "the next portsafe-run did not remove the abandoned cgroup"
    finally:
        vl.kill_quietly(job)
