"""A connect from inside the job to one of the network namespace's own interface addresses (not
only loopback) on the virtual port is local too: it reaches the job's own server. In shim mode
the address is a veth's present when the job starts (the shim reads them at start-up)."""
import subprocess

import pytest

import virtuallib as vl
import portsafe_testlib as tl

ADDRESS = "10.77.0.1"


@pytest.fixture
def interface_address():
    if not tl.in_private_netns():
        pytest.skip("adds an interface: needs the private network namespace ctest gives each test")
    # veth, not dummy: kernels without the dummy module have veth (Docker needs it).
    subprocess.run(["ip", "link", "add", "psvirt0", "type", "veth", "peer", "name", "psvirt1"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", f"{ADDRESS}/24", "dev", "psvirt0"], check=True)
        subprocess.run(["ip", "link", "set", "psvirt0", "up"], check=True)
        subprocess.run(["ip", "link", "set", "psvirt1", "up"], check=True)
        yield ADDRESS
    finally:
        subprocess.run(["ip", "link", "del", "psvirt0"], check=False)


def test_connect_to_an_interface_address_reaches_the_jobs_server(ps, mode, barrier, interface_address):
    outsider = vl.Outsider(8080)  # on 127.0.0.1: the job's wildcard server is on the real port
    try:
        with vl.started_jobs() as jobs:
            for i in ("a", "b"):
                jobs[i] = vl.virtual_run(ps, mode, f"if-{i}", ["8080"],
                                         [tl.PYTHON, vl.ECHO_JOB, "--id", i, "--barrier", barrier, "--connect",
                                          interface_address])
            with vl.jobs_at_barrier(jobs, barrier):
                pass
            results = {i: vl.result_of(proc) for i, proc in jobs.items()}
    finally:
        outsider.close()
    for i, seen in results.items():
        assert seen["reply"] == i, f"job {i}'s client at {interface_address}:8080 reached {seen['reply']!r}"
        assert seen["client_peername"] == 8080, seen
