"""Out of descriptors, portsafed stops accepting (instead of spinning on the pending client) and
serves the waiting clients as soon as others disconnect."""
import os
import resource
import subprocess
import time

from supervisor_wire import Client


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_clients_beyond_the_descriptor_limit_wait_and_are_then_served(ps):
    limit = 48
    proc = subprocess.Popen([ps.program("portsafed"), "--runtime-dir", ps.runtime_dir, "--foreground",
                             "--idle-timeout", "0"], env=ps.env, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)))
    try:
        socket_path = os.path.join(ps.runtime_dir, "portsafed.sock")
        deadline = time.monotonic() + 5
        while not os.path.exists(socket_path) and time.monotonic() < deadline:
            time.sleep(0.01)
        clients = [Client(socket_path, timeout=10) for _ in range(limit + 20)]
        last = clients[-1]
        last.sock.sendall(b"PSFW\x01\x00\x07\x00\x00\x00\x00\x00")  # ping, answered once accepted
        before = cpu_seconds(proc.pid)
        time.sleep(1.0)
        # One second of a spinning loop would cost about a second of CPU.
        assert cpu_seconds(proc.pid) - before < 0.3, "portsafed spins while out of descriptors"
        for client in clients[:30]:
            client.close()
        kind, _payload, _ = last.read_reply()
        assert kind == 107  # pong
        assert Client(socket_path).ping() == proc.pid
    finally:
        proc.kill()
        proc.wait()
