"""Held ports belong to the job: held (plain binds refused) while portsafe-run lives, released when
it exits, and within a second when it is SIGKILLed."""
import os
import signal

import portsafe_testlib as tl
from run_helpers import kill_group, parse_print, start, wait_file


def start_job(ps, names, extra=()):
    ready = ps.tmp / "ready"
    args = ["--print"] + [a for n in names for a in ("--port", n)] + list(extra)
    proc = start(ps, args + ["--", "sh", "-c", f'touch {ready}; exec sleep 60'])
    assert wait_file(ready) is not None
    ports = {}
    while len(ports) < len(names):
        ports.update(parse_print(proc.stderr.readline()))
    return proc, ports


def test_ports_held_while_running_and_freed_by_sigkill(ps):
    proc, ports = start_job(ps, ["a", "b", "c/udp"])
    try:
        tcp = [ports["a"], ports["b"]]
        for port in tcp:
            assert not tl.port_is_bindable(port), f"{port} is not held"
            assert tl.port_is_bindable(port, reuse=True), "the job's consumer must be able to bind it"
        os.kill(proc.pid, signal.SIGKILL)  # portsafe-run itself, not its COMMAND
        proc.wait(timeout=10)
        # The promise: freed in under a second (bounded poll, not a timing measurement).
        assert tl.wait_for(lambda: all(tl.port_is_bindable(p) for p in tcp), timeout=1.0), "ports still held 1 s after SIGKILL"
    finally:
        kill_group(proc)


def test_ports_released_on_normal_exit(ps):
    proc, ports = start_job(ps, ["a"])
    try:
        assert not tl.port_is_bindable(ports["a"])
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=10) == 128 + signal.SIGTERM
        assert tl.wait_for(lambda: tl.port_is_bindable(ports["a"]), timeout=1.0)
    finally:
        kill_group(proc)
