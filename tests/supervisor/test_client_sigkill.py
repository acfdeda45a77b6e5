"""SIGKILL of a job's client: its held ports are free again within a second (bounded poll)."""
import os
import signal
import subprocess

from portsafe_testlib import PYTHON, port_is_bindable, wait_for
from supervisor_wire import start_supervisor

HOLDER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from supervisor_wire import Client, TCP, UDP
c = Client(sys.argv[2])
c.open_job("doomed")
ports = c.reserve([("web", TCP, 0), ("db", TCP, 0), ("dns", UDP, 0)])
print(ports["web"], ports["db"], ports["dns"], flush=True)
time.sleep(120)
"""


def test_sigkill_of_the_client_frees_its_ports(ps):
    socket_path = start_supervisor(ps)
    holder = subprocess.Popen([PYTHON, "-c", HOLDER, os.path.dirname(__file__), socket_path], env=ps.env,
                              stdout=subprocess.PIPE, text=True)
    web, db, dns = map(int, holder.stdout.readline().split())
    held = [(web, "tcp"), (db, "tcp"), (dns, "udp")]
    for port, proto in held:
        assert not port_is_bindable(port, proto), f"{port}/{proto} should be held"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    for port, proto in held:
        assert wait_for(lambda: port_is_bindable(port, proto), timeout=1.0), f"{port}/{proto} still held"
