"""Helpers for black-box tests of the installed portsafe programs."""
import contextlib
import os
import signal
import socket
import subprocess
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


class Context:
    """A private runtime root (PORTSAFE_RUNTIME_DIR) and an environment that uses it."""

    def __init__(self, tmp_path, range_=None):
        self.tmp = tmp_path
        self.runtime_dir = str(tmp_path / "runtime")
        os.makedirs(self.runtime_dir, mode=0o700, exist_ok=True)
        os.chmod(self.runtime_dir, 0o700)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PORTSAFE_") or k in ("PORTSAFE_PREFIX", "PORTSAFE_IN_NETNS", "PORTSAFE_BUILD_DIR")}
        self.env.pop("LD_PRELOAD", None)
        self.env["PORTSAFE_RUNTIME_DIR"] = self.runtime_dir
        if range_:
            self.env["PORTSAFE_RANGE"] = f"{range_[0]}-{range_[1]}"

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

    def supervisor_pid(self):
        """The pid written in the supervisor's lock file, or None."""
        try:
            with open(os.path.join(self.runtime_dir, "portsafed.lock")) as f:
                text = f.read().strip()
            return int(text) if text else None
        except (OSError, ValueError):
            return None

    def kill_supervisor(self, sig=signal.SIGKILL):
        pid = self.supervisor_pid()
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return pid

    def cleanup(self):
        self.kill_supervisor()
        table = table_shm_path(self.runtime_dir)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(table)


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
