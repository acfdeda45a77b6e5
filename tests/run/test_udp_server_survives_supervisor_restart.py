"""A UDP server inside `portsafe-run --port u/udp` keeps every datagram across a restart of
portsafed, whether it was SIGKILLed (its holds are adopted) or stopped by SIGTERM (its holds of
running jobs are left for the next one): the new supervisor holds the port again for the job
without binding a placeholder beside the server, which would take its datagrams (the newest UDP
socket bound with SO_REUSEADDR wins them)."""
import json
import os
import signal
import socket
import subprocess
import time

from portsafe_testlib import first_line, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))


def state_of(ps, port):
    out = ps.run([ps.program("portsafe"), "status", "--json"])
    assert out.returncode == 0, out.stderr
    entries = [e for e in json.loads(out.stdout) if e["port"] == port and e["proto"] == "udp"]
    return entries[0]["state"] if entries else None


def echoed(port, payload):
    """True when the server (not a placeholder) answers payload; each try waits up to 2 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(2)
        client.sendto(payload, ("127.0.0.1", port))
        try:
            data, _ = client.recvfrom(2048)
        except socket.timeout:
            return False
        return data == payload


def held_again_by_a_new_supervisor(ps, port, old):
    return ps.supervisor_pid() not in (None, old) and state_of(ps, port) == "held"


def test_udp_server_keeps_its_datagrams_across_supervisor_restarts(ps):
    job = subprocess.Popen([ps.program("portsafe-run"), "--port", "u/udp", "--",
                            "/usr/bin/python3", os.path.join(HERE, "udp_echo_server.py")],
                           env=ps.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(first_line(job).split()[1])
        assert echoed(port, b"before")
        for number, sig in enumerate((signal.SIGKILL, signal.SIGTERM)):
            old = ps.supervisor_pid()
            os.kill(old, sig)
            assert wait_for(lambda: held_again_by_a_new_supervisor(ps, port, old), timeout=30), \
                (sig, state_of(ps, port), job.stderr.read() if job.poll() is not None else "")
            # Every datagram sent once the job holds the port again reaches the server: one lost
            # to a placeholder would go unanswered.
            for n in range(20):
                payload = f"after {signal.Signals(sig).name} #{n}".encode()
                assert echoed(port, payload), f"datagram {payload!r} was not answered by the server"
            # The new supervisor's sweep retries the placeholders each second: through a few
            # sweeps, every datagram is still the server's.
            until = time.monotonic() + 2.5
            n = 0
            while time.monotonic() < until:
                n += 1
                assert echoed(port, f"later {number} #{n}".encode()), f"datagram #{n} after sweeps was lost"
        assert job.poll() is None, job.stderr.read()
    finally:
        job.terminate()
        job.wait(timeout=30)
