"""Helpers of the virtual-port tests (tests/virtual/test_*.py): jobs started side by side that meet
at a barrier, an outsider holding the hard-coded port meanwhile, and what each job printed."""
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import portsafe_testlib as tl

HERE = os.path.dirname(os.path.abspath(__file__))
ECHO_JOB = os.path.join(HERE, "programs", "echo_job.py")
CGROUP_PREFIX = "portsafe-job-"


def built_program(name):
    path = os.path.join(os.environ.get("PORTSAFE_BUILD_DIR", ""), "bin", name)
    if not os.access(path, os.X_OK):
        import pytest
        pytest.skip(f"{path} is not built (needs go; scripts/install-deps.sh installs golang-go)")
    return path


def _unescape(text):
    """mountinfo writes spaces and the like as \\ooo (octal)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _cgroup2_mount_and_root():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            head, _, tail = line.partition(" - ")
            if tail.split()[0] == "cgroup2":
                fields = head.split()
                return _unescape(fields[4]), _unescape(fields[3])
    return None, None


def cgroup2_mount():
    return _cgroup2_mount_and_root()[0]


def job_cgroup_parent():
    """Where portsafe-run (a child of this test, so in our cgroup) makes job cgroups: its own
    cgroup's directory, computed exactly as supervisor/virtual/job_cgroup.cpp parent_directory()
    does (the "0::" line of /proc/self/cgroup, less the mount's root, under the mount point)."""
    mount, root = _cgroup2_mount_and_root()
    if mount is None:
        return None
    own = "/"
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                own = line[3:].rstrip("\n")
                break
    if root != "/":
        if not own.startswith(root):
            return mount  # not visible through this mount
        own = own[len(root):]
    return mount + own.rstrip("/")


def job_cgroup_path(name):
    return os.path.join(job_cgroup_parent(), name)


def job_cgroups():
    """The job cgroups that launchers of this PID namespace (this test's: tests/lib/in_netns.sh) made
    where this test's portsafe-run makes them; other tests' come and go meanwhile."""
    parent = job_cgroup_parent()
    ours = f"{CGROUP_PREFIX}{os.stat('/proc/self/ns/pid').st_ino}-"
    return {name for name in os.listdir(parent) if name.startswith(ours)} if parent else set()


def virtual_run(ps, mode, job, virtual, command, extra=()):
    """portsafe-run --job JOB --virtual-mode MODE --virtual V... -- COMMAND, started (Popen)."""
    args = [ps.program("portsafe-run"), "--job", job, "--virtual-mode", mode, *extra]
    for v in virtual:
        args += ["--virtual", v]
    return subprocess.Popen(args + ["--"] + command, env=ps.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@contextlib.contextmanager
def jobs_at_barrier(procs_by_id, barrier, timeout=60):
    """Waits until every job is at the barrier (its server is up), lets the test act while all of them
    serve, then lets them go on; every job is ended on the way out, also on failure."""
    try:
        deadline = time.monotonic() + timeout
        while not all(os.path.exists(os.path.join(barrier, f"ready-{i}")) for i in procs_by_id):
            for i, proc in procs_by_id.items():
                if proc.poll() is not None:
                    raise AssertionError(f"job {i} ended before the barrier ({proc.returncode}): {proc.stderr.read()}")
            assert time.monotonic() < deadline, "the jobs did not all reach the barrier"
            time.sleep(0.02)
        yield
        open(os.path.join(barrier, "go"), "w").close()
    finally:
        open(os.path.join(barrier, "go"), "w").close()
        for proc in procs_by_id.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def result_of(proc):
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, f"job failed ({proc.returncode}): {err}"
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert lines, f"the job printed no result: {out!r} {err!r}"
    return json.loads(lines[-1])


class Outsider:
    """A process outside every job bound to PORT itself, answering 'outsider' (SO_REUSEADDR only so an
    earlier test's TIME_WAIT does not stop it: a listening TCP socket still excludes every other)."""

    def __init__(self, port, proto="tcp", family=socket.AF_INET):
        kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(family, kind)
        if proto == "tcp":
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", port))
        self.proto = proto
        self.stop = False
        if proto == "tcp":
            self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                if self.proto == "tcp":
                    conn, _ = self.sock.accept()
                    conn.sendall(b"outsider")
                    conn.close()
                else:
                    _, source = self.sock.recvfrom(100)
                    self.sock.sendto(b"outsider", source)
            except (socket.timeout, OSError):
                continue

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def ask(port, proto="tcp", host="127.0.0.1"):
    """What answers HOST:PORT from outside every job."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM) as s:
        s.settimeout(5)
        if proto == "udp":
            s.sendto(b"who", (host, port))
            return s.recvfrom(100)[0].decode()
        s.connect((host, port))
        return s.recv(100).decode()


@contextlib.contextmanager
def started_jobs():
    """A dict for the jobs a test starts (virtual_run): every one is killed and waited for on the way
    out, also when starting a later one fails or the test fails before waiting for them."""
    jobs = {}
    try:
        yield jobs
    finally:
        for proc in jobs.values():
            kill_quietly(proc)


def kill_quietly(proc):
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGKILL)
    proc.wait()
