"""Helpers for black-box tests of the installed portsafe programs."""
import contextlib
import fcntl
import mmap
import os
import pwd
import signal
import socket
import struct
import subprocess
import threading
import time

PREFIX = os.environ.get("PORTSAFE_PREFIX", "")
PYTHON = "/usr/bin/python3"  # Debian's, which has python3-portpicker


def program(name):
    path = os.path.join(PREFIX, "bin", name)
    assert os.access(path, os.X_OK), f"{path} missing: run the tests through ctest (it installs the stage)"
    return path


def shim_path():
    return os.path.join(PREFIX, "lib", "libportsafe.so")


def ephemeral_range():
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low, high = f.read().split()
    return int(low), int(high)


def in_private_netns():
    return os.environ.get("PORTSAFE_IN_NETNS") == "1"


# ---- throwaway accounts ---------------------------------------------------------------------------
# useradd and userdel lock the account files and fail at once ("cannot lock /etc/passwd; try again
# later") when another holds them, and two tests creating the same user race between getpwnam and
# useradd: tests that touch accounts take turns through one lock file shared by every test process.
ACCOUNTS_LOCK = "/tmp/portsafe-tests-accounts.lock"


@contextlib.contextmanager
def accounts_lock():
    fd = os.open(ACCOUNTS_LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def ensure_system_user(name):
    """The system user NAME (no home, no login), created unless it exists: safe under parallel runs."""
    with accounts_lock():
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True, timeout=60, capture_output=True)
        return pwd.getpwnam(name)


def remove_system_user(name):
    with accounts_lock():
        subprocess.run(["userdel", name], timeout=60, capture_output=True)


# Every runtime root this test process made or was given (track_root): tests/conftest.py checks at
# the end of the session that none of them left its table in /dev/shm.
SESSION_ROOTS = set()


def track_root(root):
    """Records a temporary runtime root, so the session-end check looks for its table."""
    SESSION_ROOTS.add(str(root))
    return root


class Context:
    """A private runtime root (PORTSAFE_RUNTIME_DIR) and an environment that uses it."""

    def __init__(self, tmp_path, range_=None):
        self.tmp = tmp_path
        self._roots = []
        self.runtime_dir = str(tmp_path / "runtime")
        os.makedirs(self.runtime_dir, mode=0o700, exist_ok=True)
        os.chmod(self.runtime_dir, 0o700)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PORTSAFE_") or k in ("PORTSAFE_PREFIX", "PORTSAFE_IN_NETNS", "PORTSAFE_BUILD_DIR")}
        self.env.pop("LD_PRELOAD", None)
        self.env["PORTSAFE_RUNTIME_DIR"] = self.runtime_dir
        if range_:
            self.env["PORTSAFE_RANGE"] = f"{range_[0]}-{range_[1]}"

    # A test may move the context to another root (one under /tmp that another uid can reach);
    # every root it ever had is remembered, so cleanup() stops their supervisors and removes their
    # tables, not only the last one's.
    @property
    def runtime_dir(self):
        return self._runtime_dir

    @runtime_dir.setter
    def runtime_dir(self, path):
        self._runtime_dir = str(path)
        if self._runtime_dir not in self._roots:
            self._roots.append(self._runtime_dir)
        track_root(self._runtime_dir)

    def set_range(self, low, high):
        self.env["PORTSAFE_RANGE"] = f"{low}-{high}"

    def program(self, name):
        return program(name)

    @property
    def shim(self):
        return shim_path()

    def preload_env(self, **extra):
        """Environment that preloads the shim by hand (no portsafe-run)."""
        env = dict(self.env)
        env["LD_PRELOAD"] = self.shim
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def run(self, args, env=None, timeout=60, check=False, **kw):
        return subprocess.run(args, env=env or self.env, timeout=timeout, check=check,
                              capture_output=True, text=True, **kw)

    def supervisor_pid(self, root=None):
        """The pid written in the supervisor's lock file (of this context's root), or None."""
        return supervisor_pid_of(root or self.runtime_dir)

    def kill_supervisor(self, sig=signal.SIGKILL, root=None):
        pid = self.supervisor_pid(root)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return pid

    def cleanup(self):
        for root in self._roots:
            self.kill_supervisor(root=root)
            remove_root_table(root)


def supervisor_pid_of(root):
    """The pid written in a root's supervisor lock file, or None."""
    try:
        with open(os.path.join(root, "portsafed.lock")) as f:
            text = f.read().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def remove_root_table(root):
    """Removes the table of a runtime root this test made (never anyone else's)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(table_shm_path(root))


# The table header keeps the supervisor's socket path (include/portsafe/port_table.hpp,
# TableHeader::socket_path): the root a segment belongs to is that path's directory.
SOCKET_PATH_OFFSET = 40
SOCKET_PATH_BYTES = 108


def table_segments():
    """The portsafe table segments in /dev/shm now (paths)."""
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        return set()
    return {os.path.join("/dev/shm", n) for n in names if n.startswith("portsafe-")}


def root_of_table(path):
    """The runtime root a table segment names in its header, or None when unreadable."""
    try:
        with open(path, "rb") as f:
            f.seek(SOCKET_PATH_OFFSET)
            raw = f.read(SOCKET_PATH_BYTES)
    except OSError:
        return None
    socket_path = raw.split(b"\0", 1)[0].decode(errors="replace")
    return os.path.dirname(socket_path) if socket_path else None


def leaked_tables(before, roots, temp_base):
    """Segments made since `before` that belong to one of `roots` or to a root under `temp_base`
    (the session's own temporary tree): tables the session left behind."""
    leaked = {table_shm_path(r) for r in roots if os.path.exists(table_shm_path(r))} - set(before)
    prefix = temp_base.rstrip("/") + "/"
    for path in table_segments() - set(before) - leaked:
        root = root_of_table(path)
        if root is not None and (root in roots or root.startswith(prefix)):
            leaked.add(path)
    return sorted(leaked)


def table_shm_path(runtime_dir):
    """/dev/shm path of the table of a runtime root (FNV-1a 64 of the root path)."""
    h = 0xCBF29CE484222325
    for b in runtime_dir.encode():
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"/dev/shm/portsafe-{h:016x}"


def wait_for(predicate, timeout=5.0, interval=0.01):
    """Polls predicate until it is truthy or timeout passes (bounded); returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def port_is_bindable(port, proto="tcp", reuse=False):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def first_line(proc, timeout=30):
    """The first line a running process (stdout=PIPE, text) prints, waiting at most timeout."""
    line = []
    threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True).start()
    assert wait_for(lambda: line, timeout=timeout), f"{proc.args[0]} printed nothing"
    return line[0]


def queued_connections(socket_path):
    """How many connections wait in the listen queue of the unix socket at socket_path (the
    Recv-Q that `ss` shows for a listening socket)."""
    out = subprocess.run(["ss", "-xlnH"], capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        fields = line.split()
        if socket_path in fields:
            return int(fields[2])
    return 0


def launch_held_job(ps, *names, env=None):
    """`portsafe-run --port NAME...` whose COMMAND prints the held port numbers on one line and
    then sleeps; stdout and stderr are pipes (read the numbers with first_line)."""
    args = [ps.program("portsafe-run")]
    for name in names:
        args += ["--port", name]
    numbers = " ".join(f"$PORTSAFE_PORT_{name.upper()}" for name in names)
    args += ["--", "sh", "-c", f'echo "{numbers}"; exec sleep 60']
    return subprocess.Popen(args, env=env or ps.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# Table layout (include/portsafe/port_table.hpp): a 512-byte header, then 128-byte slots, tcp
# then udp. The first 64-bit word of a slot holds its state in the top 3 bits.
HEADER_BYTES = 512
SLOT_BYTES = 128
STATES = ["free", "busy", "bound", "linger", "held", "excluded"]
MAGIC = 0x4546415354524F50


def in_range(port, range_):
    return range_[0] <= port <= range_[1]


class Table:
    """Read-only view of a runtime root's table (mapped from /dev/shm)."""

    def __init__(self, runtime_dir):
        path = table_shm_path(runtime_dir)
        with open(path, "rb") as f:
            self.data = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        magic, = struct.unpack_from("<Q", self.data, 0)
        assert magic == MAGIC, f"{path} is not a portsafe table"
        self.low, self.high = struct.unpack_from("<HH", self.data, 24)

    def counters(self):
        """The header's counters (after the checksummed part; offsets asserted in port_table.hpp)."""
        picks, fallbacks, full, reaped = struct.unpack_from("<QQQQ", self.data, 160)
        given_way, young, claims, peak, needed = struct.unpack_from("<QQQQQ", self.data, 208)
        return {"picks": picks, "fallbacks": fallbacks, "full_range_events": full, "reaped": reaped,
                "lingers_given_way": given_way, "young_lingers_given_way": young, "claims_made": claims,
                "peak_in_use": peak, "ports_needed": needed}

    def state(self, port, proto="tcp"):
        size = self.high - self.low + 1
        index = (0 if proto == "tcp" else size) + port - self.low
        word, = struct.unpack_from("<Q", self.data, HEADER_BYTES + index * SLOT_BYTES)
        return STATES[word >> 61]
