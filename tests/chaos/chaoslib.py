"""A bounded SIGKILL storm over parallel portsafe-run jobs, and the checks made after it.

Each job is `portsafe-run --port p -- python3 worker.py LOG SECONDS`: the worker binds its held
port (SO_REUSEADDR, as a real server does) and listens *before* logging "start", and logs "end"
before it exits. So:
  - two live jobs given one port show up as a worker whose bind/listen failed ("conflict");
  - a killed worker's "start" is a moment when its job surely had the port: no other job's exact
    [start, end] interval on that port may contain it;
  - a worker whose launcher died before it bound logs "orphan" and takes nothing: its job is over.
"""
import json
import os
import random
import signal
import subprocess
import threading
import time

from portsafe_testlib import PYTHON, wait_for

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "storm_worker.py")


class Storm:
    def __init__(self, ps, jobs=6, storm_seconds=5.0, seed=1):
        self.ps = ps
        self.jobs = jobs
        self.storm_seconds = storm_seconds
        self.rng = random.Random(seed)
        self.log = str(ps.tmp / "storm.log")
        self.lock = threading.Lock()
        self.live = {}          # launcher pid -> Popen
        self.exit_codes = []
        self.hung = []
        self.kills = 0
        self.stop = threading.Event()
        self.samples = 0

    # ---- jobs ------------------------------------------------------------------------------------
    def _job_loop(self):
        while not self.stop.is_set():
            seconds = f"{self.rng.uniform(0.05, 0.3):.3f}"
            proc = subprocess.Popen([self.ps.program("portsafe-run"), "-q", "--port", "p", "--", PYTHON, WORKER,
                                     self.log, seconds], env=self.ps.env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            with self.lock:
                self.live[proc.pid] = proc
            try:
                code = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.hung.append(proc.args)
                os.killpg(proc.pid, signal.SIGKILL)
                code = proc.wait(timeout=10)
            with self.lock:
                del self.live[proc.pid]
                self.exit_codes.append(code)

    def victims(self):
        with self.lock:
            return list(self.live)

    def run(self, kill_one, interval=(0.05, 0.25), min_kills=0):
        """Runs the jobs for storm_seconds while kill_one(storm) SIGKILLs something now and then;
        on a slow (loaded) machine it goes on, up to three times as long, until min_kills landed."""
        threads = [threading.Thread(target=self._job_loop, daemon=True) for _ in range(self.jobs)]
        for t in threads:
            t.start()
        start = time.monotonic()
        deadline, last_chance = start + self.storm_seconds, start + 3 * self.storm_seconds
        try:
            while time.monotonic() < deadline or (self.kills < min_kills and time.monotonic() < last_chance):
                time.sleep(self.rng.uniform(*interval))
                if kill_one(self):
                    self.kills += 1
                self.sample_status()
        finally:
            self.stop.set()
            for t in threads:
                t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a job loop hung"
        assert not self.hung, f"launchers that did not end in 30 s: {self.hung}"

    # ---- the checks -------------------------------------------------------------------------------
    def sample_status(self):
        """`portsafe status --json` answers during the storm, and shows no port for two jobs."""
        entries = status_entries(self.ps)
        owners = {}
        for e in entries:
            key = (e["port"], e["proto"])
            assert owners.setdefault(key, e["job"]) == e["job"], f"{key} shown for two jobs: {entries}"
        self.samples += 1

    def records(self):
        with open(self.log) as f:
            return [line.split() for line in f if line.strip()]

    def check_exclusive(self, lost_holds=None):
        """No port held by two live jobs at once; returns the number of starts.

        A worker that could not take its job's port ("conflict") fails the check, unless
        lost_holds (a list) is given: with portsafed SIGKILLed under the job, its holds died with
        the placeholders (README "Limits"), so such conflicts are collected there instead."""
        records = self.records()
        conflicts = [r for r in records if r[0] == "conflict"]
        if lost_holds is None:
            assert not conflicts, f"a worker could not take its own held port: {conflicts[:5]}"
        else:
            lost_holds.extend(conflicts)
        starts = {(r[1], r[2], r[3]): int(r[4]) for r in records if r[0] == "start"}
        ends = {(r[1], r[2], r[3]): int(r[4]) for r in records if r[0] == "end"}
        intervals = {}
        for key, start in starts.items():
            intervals.setdefault(key[0], []).append((start, ends.get(key), key[1]))
        for port, spans in intervals.items():
            exact = [(s, e, job) for s, e, job in spans if e is not None]
            for s, e, job in spans:
                for s2, e2, job2 in exact:
                    if job2 != job:
                        assert not (s2 < s < e2), f"port {port}: job {job} started inside job {job2}'s use"
                        if e is not None:
                            assert e <= s2 or e2 <= s, f"port {port}: jobs {job} and {job2} overlap"
        return len(starts)

    def wait_workers_gone(self, timeout=20):
        """Workers orphaned by a killed launcher finish their short sleep on their own."""
        def none_left():
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if self.log.encode() in f.read():
                            return False
                except OSError:
                    pass
            return True
        assert wait_for(none_left, timeout=timeout), "workers still alive long after the storm"


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def kill(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def status_entries(ps):
    out = ps.run([ps.program("portsafe"), "status", "--json"], timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def gc_leaves_nothing(ps):
    """Once every process of every job is dead, gc leaves an empty status."""
    out = ps.run([ps.program("portsafe"), "gc"], timeout=30)
    assert out.returncode == 0, out.stderr
    return wait_for(lambda: status_entries(ps) == [], timeout=10)
