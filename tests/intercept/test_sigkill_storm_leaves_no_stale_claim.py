"""A SIGKILL storm on Go workers inside a seccomp job: the kernel closes a killed worker's sockets
behind the handler's back (no close() to see). While the job runs, a live socket's claim is never
freed (a holder's port stays the job's through the storm), and every killed worker's claims end:
with a short linger, the job soon claims nothing but the holder's port. After the job ends,
`portsafe gc` leaves nothing."""
import os
import random
import shlex
import signal
import subprocess
import time

import interceptlib as il
import portsafe_testlib as tl

RANGE = (32000, 32099)
WORKERS = 4
STORM_SECONDS = 4.0
MIN_KILLS = 10


def job_script(go_worker, hold_file, stop_file, end_file):
    """A holder keeping one port for the job, and WORKERS loops restarting a killed idiom worker
    until stop_file appears; when end_file appears the holder is ended and the job exits 0."""
    go, stop, end = shlex.quote(go_worker), shlex.quote(stop_file), shlex.quote(end_file)
    loops = "\n".join(f"(while [ ! -e {stop} ]; do {go} -rounds 100000 -seed {n} >/dev/null; done) &"
                      for n in range(WORKERS))
    return f"""{go} -mode hold >{shlex.quote(hold_file)} &
holder=$!
{loops}
while [ ! -e {end} ]; do sleep 0.05; done
kill $holder
wait
"""


def idiom_workers(launcher_pid, go_worker):
    return [p for p in il.descendants(launcher_pid)
            if il.command_line(p)[:1] == [go_worker.encode()] and b"hold" not in il.command_line(p)]


def holders(launcher_pid, go_worker):
    return [p for p in il.descendants(launcher_pid) if il.command_line(p)[:3] == [go_worker.encode(), b"-mode", b"hold"]]


def job_ports(ps, job):
    return {(e["port"], e["proto"]): e for e in il.status_entries(ps) if e["job"] == job}


def test_sigkill_storm_leaves_no_stale_claim(ps, go_worker):
    ps.set_range(*RANGE)
    hold_file, stop_file, end_file = str(ps.tmp / "hold"), str(ps.tmp / "stop"), str(ps.tmp / "end")
    job = subprocess.Popen([ps.program("portsafe-run"), "-q", "--intercept", "seccomp", "--linger", "1", "--job", "storm",
                            "--", "sh", "-c", job_script(go_worker, hold_file, stop_file, end_file)],
                           env=ps.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    rng = random.Random(11)
    try:
        tl.wait_for(lambda: read_text(hold_file) or job.poll() is not None, timeout=30)
        assert read_text(hold_file), f"the holder printed no port; job exited {job.poll()}"
        held = int(read_text(hold_file))
        assert RANGE[0] <= held <= RANGE[1], held

        kills, samples = 0, 0
        start = time.monotonic()
        while time.monotonic() < start + STORM_SECONDS or (kills < MIN_KILLS and time.monotonic() < start + 3 * STORM_SECONDS):
            time.sleep(rng.uniform(0.05, 0.2))
            victims = idiom_workers(job.pid, go_worker)
            if victims and kill(rng.choice(victims)):
                kills += 1
            assert (held, "tcp") in job_ports(ps, "storm"), f"the live holder's port {held} was freed during the storm"
            samples += 1
        assert kills >= MIN_KILLS, f"only {kills} kills landed"
        assert job.poll() is None, f"the job ended during the storm: {job.stderr.read()}"

        open(stop_file, "w").close()
        # A loop may start one more worker before it sees the stop file: kill until none is left.
        gone = tl.wait_for(lambda: [kill(p) for p in idiom_workers(job.pid, go_worker)] == [], timeout=10)
        assert gone, "workers outlived the storm"
        assert holders(job.pid, go_worker), "the holder died: the test proves nothing about a live socket's claim"
        # Killed workers' claims end (freed, or lingering 1 s): only the holder's port is left.
        settled = tl.wait_for(lambda: set(job_ports(ps, "storm")) == {(held, "tcp")}, timeout=10)
        assert settled, f"the job's claims, the holder's being ({held}, 'tcp'): {sorted(job_ports(ps, 'storm'))[:20]}"

        open(end_file, "w").close()
        _, err = job.communicate(timeout=30)
        assert job.returncode == 0, err
        assert ps.run([ps.program("portsafe"), "gc"], timeout=30).returncode == 0
        assert tl.wait_for(lambda: il.status_entries(ps) == [], timeout=10), il.status_entries(ps)
        print(f"{kills} workers killed, {samples} status samples")
    finally:
        il.end_group(job)


def kill(pid):
    """SIGKILLs pid; False when it had exited already (a victim may end between listing and kill)."""
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


def read_text(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""
