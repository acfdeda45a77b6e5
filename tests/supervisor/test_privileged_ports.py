"""Ports below 1024 are held only where the supervisor may bind them; held ones show in status."""
import json
import os
import shutil
import subprocess

import pytest

from portsafe_testlib import port_is_bindable
from supervisor_wire import ERROR, RESERVE, TCP, Client, start_supervisor, text


def reserve_port_80(socket_path):
    client = Client(socket_path)
    client.open_job("privileged")
    body = bytes([1]) + text("http") + bytes([TCP]) + (80).to_bytes(2, "little")
    return client, client.call(RESERVE, body)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_root_supervisor_holds_port_80_and_status_shows_it(ps):
    socket_path = start_supervisor(ps)
    client, (kind, payload, _) = reserve_port_80(socket_path)
    assert kind != ERROR, payload
    assert not port_is_bindable(80)
    out = ps.run([ps.program("portsafe"), "status", "--json"])
    entries = [e for e in json.loads(out.stdout) if e["port"] == 80]
    assert entries and entries[0]["state"] == "held" and entries[0]["job"] == "privileged"
    client.close()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_without_the_capability_port_80_is_refused_with_the_fix(ps):
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        if int(f.read()) <= 80:
            pytest.skip("this namespace lets anyone bind port 80")
    # The supervisor runs without CAP_NET_BIND_SERVICE, as an ordinary user's would.
    subprocess.run(["setpriv", "--bounding-set=-net_bind_service", "--inh-caps=-net_bind_service",
                    ps.program("portsafed"), "--runtime-dir", ps.runtime_dir], env=ps.env, check=True, timeout=30)
    socket_path = os.path.join(ps.runtime_dir, "portsafed.sock")
    client, (kind, payload, _) = reserve_port_80(socket_path)
    assert kind == ERROR
    code = int.from_bytes(payload[:2], "little")
    assert code == 9, payload  # bind_failed
    assert b"CAP_NET_BIND_SERVICE" in payload
    assert client.ping() == ps.supervisor_pid()
