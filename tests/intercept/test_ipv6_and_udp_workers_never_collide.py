"""As test_raw_syscall_workers_never_collide.py for the other families and protocols the shim
covers: TCP over IPv6, UDP over IPv4 and IPv6, with the Go and the -static C worker started by a
dynamic shell inside four jobs side by side. Bare, rounds fail or two jobs are given one port at
once (asserted); under `portsafe-run --intercept seccomp` none fails, every pick is in the job's
range and no port is given to two jobs at once."""
import pytest

import interceptlib as il

JOBS = 4
WORKERS_PER_JOB = 2
# A server's use may be unseen (a UDP server's always is, without its recv calls): its port then
# lingers for the job after close, one per round, so the range has room for every round of every job.
RANGE = (30000, 30599)
VARIANTS = {
    "tcp6": (["-proto", "tcp", "-family", "6"], 60),
    "udp4": (["-proto", "udp", "-family", "4"], 20),
    "udp6": (["-proto", "udp", "-family", "6"], 20),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_ipv6_and_udp_workers_never_collide(ps, tiny_ephemeral_range, raw_worker, variant):
    ps.set_range(*RANGE)
    args, rounds = VARIANTS[variant]
    args = ["-rounds", str(rounds)] + args
    bare = il.run_jobs(ps, raw_worker, args, JOBS, WORKERS_PER_JOB, il.bare)
    assert il.failures(bare) + len(il.shared_ports(bare)) > 0, "the bare run showed no collision: the experiment is void"

    jobs = il.run_jobs(ps, raw_worker, args, JOBS, WORKERS_PER_JOB, il.seccomp_job(variant))
    print(f"{variant} bare: {il.failures(bare)} failed rounds {il.errors(bare)}, {len(il.shared_ports(bare))} shared; "
          f"under --intercept seccomp: {il.failures(jobs)} {il.errors(jobs)}")
    il.assert_coordinated(ps, jobs, JOBS * WORKERS_PER_JOB * rounds, RANGE)
