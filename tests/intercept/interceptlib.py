"""Helpers for the seccomp interception tests: the raw-syscall workers (built by
tests/intercept/workers/CMakeLists.txt into $PORTSAFE_BUILD_DIR/bin), jobs of them started by a
dynamic shell inside `portsafe-run --intercept seccomp`, and the checks made on their reports."""
import contextlib
import json
import os
import queue
import re
import shlex
import signal
import subprocess
import threading
import time

import pytest

import portsafe_testlib as tl

BUILD_DIR = os.environ.get("PORTSAFE_BUILD_DIR", "")
WORKERS = {
    "go": "intercept_go_worker",
    "static": "intercept_static_worker",
}


def built_program(name):
    """Path of a helper program in the build tree; skips the test (saying why) when it is absent."""
    path = os.path.join(BUILD_DIR, "bin", name)
    if not os.access(path, os.X_OK):
        hint = " (the Go programs need golang-go: scripts/install-deps.sh)" if "_go_" in name else ""
        pytest.skip(f"{path} not built{hint}")
    return path


def set_ephemeral_range(low, high):
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write(f"{low} {high}")


def worker_commands(worker, workers, out_dir, job, args):
    """A shell script starting `workers` copies of worker in the background, each writing its
    JSON report to its own file (big reports written at once would interleave on one pipe)."""
    lines = []
    for n in range(workers):
        out = os.path.join(out_dir, f"{job}-{n}.json")
        lines.append(f"{shlex.quote(worker)} {' '.join(map(shlex.quote, args))} -seed {job * 100 + n} >{shlex.quote(out)} &")
    return "\n".join(lines + ["wait"])


def run_jobs(ps, worker, args, jobs, workers, wrap, timeout=240):
    """Runs `jobs` jobs side by side, each a `sh -c` starting `workers` workers; wrap(job) gives the
    launcher prefix of a job ([] for bare). Returns {job: [report, ...]}. Every process is ended,
    also when the test fails (each job is its own process group)."""
    out_dir = str(ps.tmp / f"reports-{os.urandom(4).hex()}")
    os.makedirs(out_dir)
    procs = {}
    try:
        for job in range(jobs):
            script = worker_commands(worker, workers, out_dir, job, args)
            procs[job] = subprocess.Popen(wrap(job) + ["sh", "-c", script], env=ps.env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, start_new_session=True)
        results = {}
        for job, proc in procs.items():
            out, err = proc.communicate(timeout=timeout)
            assert proc.returncode == 0, f"job {job} exited {proc.returncode}: {err}"
            results[job] = [read_report(os.path.join(out_dir, f"{job}-{n}.json"), err) for n in range(workers)]
        return results
    finally:
        for proc in procs.values():
            end_group(proc)


def read_report(path, stderr):
    with open(path) as f:
        text = f.read()
    assert text.strip(), f"a worker wrote no report ({path}); job stderr: {stderr}"
    return json.loads(text)


def end_group(proc):
    """SIGKILLs the process group a test started (start_new_session=True) and reaps its leader."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=10)


def seccomp_job(name, *extra):
    """The launcher prefix of a job whose binds the seccomp tier serves."""
    return lambda job: [tl.program("portsafe-run"), "-q", "--intercept", "seccomp", "--job", f"{name}{job}", *extra, "--"]


def bare(_job):
    return []


def failures(results):
    return sum(r["failures"] for reports in results.values() for r in reports)


def errors(results):
    total = {}
    for reports in results.values():
        for r in reports:
            for name, count in r["errors"].items():
                total[name] = total.get(name, 0) + count
    return total


def picks(results):
    return [p for reports in results.values() for r in reports for p in r["ports"]]


def shared_ports(results):
    """(port, job, other job) for every two rounds of different jobs whose spans (pick to close)
    overlap on one port: the port was given to two jobs at once."""
    spans = {}
    for job, reports in results.items():
        for r in reports:
            for port, start, end in r["spans"]:
                spans.setdefault(port, []).append((start, end, job))
    shared = []
    for port, items in spans.items():
        items.sort()
        for i, (start, end, job) in enumerate(items):
            for start2, _end2, job2 in items[i + 1:]:
                if start2 >= end:
                    break
                if job2 != job:
                    shared.append((port, job, job2))
    return shared


def table_counters(ps):
    """picks, fallbacks, full-range events and reaped, from `portsafe status`'s summary line."""
    out = ps.run([tl.program("portsafe"), "status"], timeout=30)
    assert out.returncode == 0, out.stderr
    match = re.search(r"picks (\d+), fallbacks (\d+), full-range events (\d+), reaped (\d+)", out.stdout)
    assert match, out.stdout
    return dict(zip(("picks", "fallbacks", "full_range_events", "reaped"), map(int, match.groups())))


def status_entries(ps):
    out = ps.run([tl.program("portsafe"), "status", "--json"], timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def descendants(pid):
    """Every live descendant of pid (from /proc/PID/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


class LineReader:
    """Reads a process's stdout (text) on a thread, so a test waits for lines with a bound and a
    blocked read never hangs it."""

    def __init__(self, proc):
        self.lines = queue.Queue()
        self.ended = False
        threading.Thread(target=self._pump, args=(proc.stdout,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, predicate, timeout):
        """Lines read until one satisfies predicate, the stream ends (self.ended) or timeout passes."""
        seen = []
        deadline = time.monotonic() + timeout
        while not self.ended:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                self.ended = True
                break
            seen.append(line)
            if predicate(line):
                break
        return seen


def assert_coordinated(ps, results, expected_picks, job_range):
    """What a seccomp-tier run of pick-a-port workers must show: no failed round, every pick made
    and inside the job's range, no port held by two jobs at once, no fallback to the kernel."""
    ports = picks(results)
    assert failures(results) == 0, errors(results)
    assert len(ports) == expected_picks
    outside = sorted({p for p in ports if not job_range[0] <= p <= job_range[1]})
    assert not outside, f"picks the kernel made, not the job's range: {outside[:20]}"
    assert not shared_ports(results), shared_ports(results)[:10]
    counters = table_counters(ps)
    assert counters["fallbacks"] == 0 and counters["full_range_events"] == 0, counters
