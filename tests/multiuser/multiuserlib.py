"""Helpers for the many-accounts tests: throwaway accounts with runtime roots of their own, the
host daemon (`portsafed --host`, as root, in a host dir of the test's own), and a picking job
that each account runs under portsafe-run.

Every account's runtime root is given with PORTSAFE_RUNTIME_DIR (under /tmp, owned by the account,
0700) so the test knows where its supervisor and table are and removes them; the default range is
left alone (no PORTSAFE_RANGE): host-wide coordination applies to the default range only.
"""
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import struct
import subprocess
import tempfile
import time

from portsafe_testlib import (PYTHON, ensure_system_user, ephemeral_range, program, remove_root_table,
                              remove_system_user, supervisor_pid_of, table_shm_path, track_root, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
PICKER = os.path.join(HERE, "picker.py")
PICKS_SCRIPT_TIMEOUT = 240.0
HOST_START_TIMEOUT = 30.0


def as_user(pw, args):
    if pw is None:  # root
        return list(args)
    return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", *args]


# ---- the host daemon -----------------------------------------------------------------------------
class HostDaemon:
    """`portsafed --host` run by the test as root, serving a host dir of the test's own (root-owned,
    0755: every account can reach host.sock and read the registry, none can write there)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="portsafe-host-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.log_path = self.dir + ".log"
        self.proc = None

    @property
    def socket_path(self):
        return os.path.join(self.dir, "host.sock")

    @property
    def registry_path(self):
        return os.path.join(self.dir, "leases")

    def env(self):
        return {"PORTSAFE_HOST_DIR": self.dir}

    def start(self):
        env = {"PATH": "/usr/bin:/bin", "PORTSAFE_HOST_DIR": self.dir, "PORTSAFE_LOG": "info"}
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([program("portsafed"), "--host"], env=env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        ready = wait_for(lambda: self.proc.poll() is not None or
                         (os.path.exists(self.socket_path) and os.path.exists(self.registry_path)),
                         timeout=HOST_START_TIMEOUT)
        assert ready and self.proc.poll() is None, f"portsafed --host did not start: {self.log()}"
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        with contextlib.suppress(OSError), open(self.log_path, errors="replace") as f:
            return f.read()
        return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
                raise AssertionError("portsafed --host did not stop within 15 s of SIGTERM")

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.log_path)


@contextlib.contextmanager
def host_daemon():
    host = HostDaemon()
    try:
        yield host.start()
    finally:
        try:
            host.stop()
        finally:
            host.remove()


# ---- accounts ------------------------------------------------------------------------------------
class Account:
    """One account (pw None: root) with a private runtime root the test chose, so that its
    supervisor and table are found and removed at the end."""

    def __init__(self, pw, host=None):
        self.pw = pw
        self.name = pw.pw_name if pw else "root"
        self.root = track_root(tempfile.mkdtemp(prefix=f"portsafe-{self.name}-", dir="/tmp"))
        os.chmod(self.root, 0o700)
        if pw is not None:
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self.env = {"PATH": "/usr/bin:/bin", "PORTSAFE_RUNTIME_DIR": self.root,
                    "PORTSAFE_LINGER": "600"}  # lingers outlive the test: a shared number is a collision
        if host is not None:
            self.env.update(host.env())
        else:
            # No host daemon in this test: a host dir that does not exist, never the host's /run/portsafe.
            self.env["PORTSAFE_HOST_DIR"] = os.path.join(self.root, "no-host-daemon")

    @property
    def uid(self):
        return self.pw.pw_uid if self.pw else 0

    @property
    def table(self):
        return table_shm_path(self.root)

    def command(self, args):
        return as_user(self.pw, args)

    def run(self, args, timeout=60, env=None):
        return subprocess.run(self.command(args), env=env or self.env, capture_output=True, text=True,
                              timeout=timeout)

    def popen(self, args, env=None, **kw):
        return subprocess.Popen(self.command(args), env=env or self.env, **kw)

    def cleanup(self):
        pid = supervisor_pid_of(self.root)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.pw is not None:
            end_processes_of(self.uid)
        remove_root_table(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def processes_of(uid):
    """Pids of this PID namespace's processes whose real uid is `uid` (zombies aside)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if fields.get("State", "").strip().startswith("Z"):
            continue
        if int(fields.get("Uid", "-1 0").split()[0]) == uid:
            pids.append(int(entry))
    return pids


def end_processes_of(uid, timeout=15.0):
    """Kills what a throwaway account still runs here (its supervisor exits on its own only when
    idle) and waits until none is left, so that userdel finds the account unused."""
    for pid in processes_of(uid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not processes_of(uid), timeout=timeout), f"uid {uid} still runs {processes_of(uid)}"


@contextlib.contextmanager
def throwaway_users(count):
    """`count` fresh system users (unique on the host: parallel tests share /etc/passwd), removed
    at the end."""
    names = [f"psm{secrets.token_hex(4)}" for _ in range(count)]
    users = []
    try:
        for name in names:
            users.append(ensure_system_user(name))
        yield users
    finally:
        for user in users:
            end_processes_of(user.pw_uid)
            remove_system_user(user.pw_name)
            assert wait_for(lambda: not user_exists(user.pw_name), timeout=5), f"userdel {user.pw_name} failed"


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def require_root():
    import pytest
    if os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("useradd"):
        pytest.skip("needs root (to run the host daemon and become other users), setpriv and useradd")


# ---- a shared work dir every account can write in ------------------------------------------------
class WorkDir:
    """/tmp/portsafe-mu-XXXX, sticky and world-writable, for barrier files and results."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="portsafe-mu-", dir="/tmp")
        os.chmod(self.path, 0o1777)

    def file(self, name):
        return os.path.join(self.path, name)

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


# ---- the picking job -----------------------------------------------------------------------------
class PickingJob:
    """`portsafe-run -- python3 picker.py ...` as one account: picks `count` ports in batches, in
    step with its peers (a barrier per batch, so picks of every account interleave), keeps every
    `keep_every`-th socket bound and closes the rest (they linger for the job), writes its ports
    as JSON, and lives on until the test says "done" (so every claim stays alive while compared)."""

    def __init__(self, account, work, tag, peers, count, batch=100, keep_every=10, udp_every=0, job=None):
        self.account = account
        self.tag = tag
        self.result = work.file(f"{tag}.json")
        self.done = work.file("done")
        args = [program("portsafe-run"), *(["--job", job] if job else []), "--", PYTHON, PICKER, "--tag", tag, "--dir", work.path,
                "--peers", ",".join(peers), "--count", str(count), "--batch", str(batch),
                "--keep-every", str(keep_every), "--udp-every", str(udp_every)]
        self.stderr_path = work.file(f"{tag}.stderr")
        with open(self.stderr_path, "w") as err:
            os.chmod(self.stderr_path, 0o666)
            self.proc = account.popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                      start_new_session=True)

    def stderr(self):
        with contextlib.suppress(OSError), open(self.stderr_path, errors="replace") as f:
            return f.read()
        return ""

    def wait_result(self, timeout):
        wait_for(lambda: os.path.exists(self.result) or self.proc.poll() is not None, timeout=timeout, interval=0.05)
        assert os.path.exists(self.result), (f"job {self.tag} ({self.account.name}) gave no result "
                                             f"(exit {self.proc.poll()}): {self.stderr()[-3000:]}")
        with open(self.result) as f:
            return json.load(f)

    def stop(self):
        with open(self.done, "w"):
            pass
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)
            raise AssertionError(f"job {self.tag} did not end within 30 s of 'done'")

    def kill(self):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)


@contextlib.contextmanager
def picking(accounts, work, count, timeout=240, tags=None, **kw):
    """Every account's picking job at once (in step, batch by batch); yields {tag: result} once
    all have picked, with every job still alive (so every claim is); ends them all afterwards."""
    tags = tags or [f"{a.name}-{i}" for i, a in enumerate(accounts)]
    jobs = []
    try:
        for account, tag in zip(accounts, tags):
            jobs.append(PickingJob(account, work, tag, tags, count, **kw))
        deadline = time.monotonic() + timeout
        results = {job.tag: job.wait_result(max(1.0, deadline - time.monotonic())) for job in jobs}
        yield results, jobs
        codes = stop_all(jobs)
        assert codes == [0] * len(jobs), [(j.tag, c, j.stderr()[-2000:]) for j, c in zip(jobs, codes)]
    finally:
        for job in jobs:
            job.kill()


def stop_all(jobs):
    """Says "done" to every job and returns their exit codes (bounded waits)."""
    for job in jobs:
        if not os.path.exists(job.done):
            with open(job.done, "w"):
                pass
    return [job.stop() for job in jobs]


def shared_ports(results):
    """(port, proto) pairs that more than one job got, with the jobs that got them."""
    owners = {}
    for tag, result in results.items():
        for proto in ("tcp", "udp"):
            for port in result[proto]:
                owners.setdefault((port, proto), []).append(tag)
    return {key: tags for key, tags in owners.items() if len(tags) > 1}


def assert_picks_from_portsafe(result, tag):
    """Every pick came from portsafe's range (below the kernel's ephemeral range): the kernel's own
    choice (the shim passing through) would make "nothing shared" prove nothing."""
    low = ephemeral_range()[0]
    kernel = [p for proto in ("tcp", "udp") for p in result[proto] if p >= low]
    assert not kernel, f"{tag}: {len(kernel)} picks were the kernel's own (shim passed through), e.g. {kernel[:5]}"
    assert not result["errors"], f"{tag}: {len(result['errors'])} picks failed: {result['errors'][:5]}"


# ---- the host registry, read as any account can (include/portsafe/host_registry.hpp) -------------
REGISTRY_MAGIC = 0x4752545348535350
REGISTRY_HEADER_BYTES = 256
BLOCK_BYTES = 64
BLOCK_STATES = {0: "free", 1: "leased", 2: "reclaiming"}


class Registry:
    """A snapshot of HOSTDIR/leases: the range, the block size and each block's state, owner uid
    and table name (the block word: state in bits 62-63, generation in 32-61, uid in 0-31)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        magic, = struct.unpack_from("<Q", data, 0)
        assert magic == REGISTRY_MAGIC, f"{path} is not a host registry"
        self.low, self.high, self.block_size, self.block_count = struct.unpack_from("<HHII", data, 24)
        self.blocks = []
        for i in range(self.block_count):
            offset = REGISTRY_HEADER_BYTES + i * BLOCK_BYTES
            word, = struct.unpack_from("<Q", data, offset)
            name = data[offset + 24:offset + 24 + 32].split(b"\0", 1)[0].decode(errors="replace")
            self.blocks.append({"index": i, "state": BLOCK_STATES.get(word >> 62, "?"),
                                "generation": (word >> 32) & ((1 << 30) - 1), "uid": word & 0xFFFFFFFF,
                                "table": name})

    def block_of(self, port):
        if not self.low <= port <= self.high:
            return None
        return self.blocks[(port - self.low) // self.block_size]

    def owner_of(self, port):
        """(uid, table name) of the account leasing the port's block, or None when it is free."""
        block = self.block_of(port)
        if block is None or block["state"] == "free":
            return None
        return block["uid"], block["table"]

    def blocks_of(self, uid):
        return [b for b in self.blocks if b["state"] != "free" and b["uid"] == uid]


# ---- the host daemon's wire protocol, raw (include/portsafe/wire_protocol.hpp) -------------------
WIRE_MAGIC = 0x57465350
HOST_LEASE, HOST_QUERY = 20, 21
ERROR, HOST_LEASED, HOST_PORT = 101, 120, 121
NOT_PERMITTED, LEASE_REFUSED = 14, 13


def frame(msg_type, payload=b"", version=1, magic=WIRE_MAGIC, length=None):
    return struct.pack("<IHHI", magic, version, msg_type, len(payload) if length is None else length) + payload


def wire_text(value):
    data = value.encode() if isinstance(value, str) else value
    return struct.pack("<H", len(data)) + data


def lease_frame(table_name):
    return frame(HOST_LEASE, wire_text(table_name))


def query_frame(proto, port):
    return frame(HOST_QUERY, struct.pack("<BH", 0 if proto == "tcp" else 1, port))
