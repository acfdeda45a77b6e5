"""Helpers for portsafe-run's black-box tests (tests/run/test_*.py)."""
import contextlib
import json
import os
import signal
import subprocess
import time

import portsafe_testlib as tl

PYTHON = tl.PYTHON


def run_prog(ps):
    return ps.program("portsafe-run")


def parse_print(stderr):
    """NAME=PORT[/udp] lines of --print -> {name: port}."""
    ports = {}
    for line in stderr.splitlines():
        if "=" in line and not line.startswith("portsafe-run:"):
            name, _, value = line.partition("=")
            ports[name] = int(value.split("/")[0])
    return ports


def status_json(ps):
    out = ps.run([ps.program("portsafe"), "status", "--json"])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def start(ps, args, **kw):
    """Starts portsafe-run ARGS in the background (own process group), stderr piped."""
    return subprocess.Popen([run_prog(ps)] + args, env=kw.pop("env", ps.env), stdout=kw.pop("stdout", subprocess.PIPE),
                            stderr=kw.pop("stderr", subprocess.PIPE), text=True, start_new_session=True, **kw)


def wait_file(path, timeout=10.0):
    """Waits (bounded) for path to exist; returns its stripped text, or None if it never appeared.
    Writers that put content in it must create it atomically (write elsewhere, then rename)."""
    if not tl.wait_for(lambda: os.path.exists(path), timeout=timeout):
        return None
    with open(path) as f:
        return f.read().strip()


def kill_group(proc):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=10)


def set_ephemeral_range(low, high):
    """Only inside the private network namespace ctest gives each test (in_netns.sh)."""
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write(f"{low} {high}")
