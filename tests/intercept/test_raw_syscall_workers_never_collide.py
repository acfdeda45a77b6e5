"""The shim's collision experiment (tests/shim/test_bind_collisions.py) with workers LD_PRELOAD
never reaches: a Go program and a -static C program doing the pick-a-port idiom over TCP/IPv4,
started by a dynamic shell inside the job. In a private network namespace with a tiny ephemeral
range, bare jobs steal each other's numbers (asserted: else the experiment proves nothing); four
jobs under `portsafe-run --intercept seccomp` side by side fail no round, every pick is in the
job's range, no port is given to two jobs at once and nothing falls back to the kernel."""
import interceptlib as il

JOBS = 4
WORKERS_PER_JOB = 2
ROUNDS = 60
# Room for every round: a server's use may be unseen (a connection served within one census of the
# kernel's sockets), and its port then lingers for the job after close, which costs a port, not safety.
RANGE = (30000, 30599)


def test_raw_syscall_workers_never_collide(ps, tiny_ephemeral_range, raw_worker):
    ps.set_range(*RANGE)
    args = ["-rounds", str(ROUNDS), "-proto", "tcp", "-family", "4"]
    bare = il.run_jobs(ps, raw_worker, args, JOBS, WORKERS_PER_JOB, il.bare)
    assert il.failures(bare) > 0, "the bare run showed no collision: the experiment is void"

    jobs = il.run_jobs(ps, raw_worker, args, JOBS, WORKERS_PER_JOB, il.seccomp_job("raw"))
    print(f"bare: {il.failures(bare)} failed rounds of {JOBS * WORKERS_PER_JOB * ROUNDS} {il.errors(bare)}; "
          f"under --intercept seccomp: {il.failures(jobs)} {il.errors(jobs)}")
    il.assert_coordinated(ps, jobs, JOBS * WORKERS_PER_JOB * ROUNDS, RANGE)
