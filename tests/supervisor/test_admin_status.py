"""`portsafe status`: a readable table and --json, read from the table (no supervisor needed)."""
import json
import os
import subprocess

from portsafe_testlib import PYTHON, wait_for
from supervisor_wire import TCP, UDP, Client, start_supervisor

HOLDER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from supervisor_wire import Client, TCP, UDP
c = Client(sys.argv[2])
c.open_job("nightly-7")
ports = c.reserve([("web", TCP, 0), ("dns", UDP, 0)])
print(ports["web"], ports["dns"], flush=True)
time.sleep(120)
"""


def start_holder(ps, socket_path):
    holder = subprocess.Popen([PYTHON, "-c", HOLDER, os.path.dirname(__file__), socket_path], env=ps.env,
                              stdout=subprocess.PIPE, text=True)
    web, dns = map(int, holder.stdout.readline().split())
    return holder, web, dns


def test_status_lists_held_ports_with_job_pid_and_command(ps):
    socket_path = start_supervisor(ps)
    holder, web, dns = start_holder(ps, socket_path)
    try:
        out = ps.run([ps.program("portsafe"), "status"])
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[0].split()[:7] == ["PORT", "PROTO", "STATE", "JOB", "PID", "AGE", "NAME"]
        rows = {(int(l.split()[0]), l.split()[1]): l for l in lines[1:-1]}
        assert set(rows) == {(web, "tcp"), (dns, "udp")}
        web_row = rows[(web, "tcp")].split()
        assert web_row[2] == "held" and web_row[3] == "nightly-7" and web_row[4] == str(holder.pid)
        assert "python3" in rows[(web, "tcp")], "the job leader's command line is shown"
        assert "picks" in lines[-1] and "reaped" in lines[-1], "the table's counters are shown"
    finally:
        holder.kill()
        holder.wait()


def test_status_json_is_an_array_of_objects(ps):
    socket_path = start_supervisor(ps)
    holder, web, dns = start_holder(ps, socket_path)
    try:
        out = ps.run([ps.program("portsafe"), "status", "--json"])
        assert out.returncode == 0, out.stderr
        entries = json.loads(out.stdout)
        assert isinstance(entries, list)
        by_port = {(e["port"], e["proto"]): e for e in entries}
        assert by_port[(web, "tcp")]["state"] == "held"
        assert by_port[(web, "tcp")]["job"] == "nightly-7"
        assert by_port[(dns, "udp")]["label"] == "dns"
        assert by_port[(dns, "udp")]["pid"] == holder.pid
    finally:
        holder.kill()
        holder.wait()
    # The job is gone: its ports leave the table.
    assert wait_for(lambda: json.loads(ps.run([ps.program("portsafe"), "status", "--json"]).stdout) == [], timeout=2)


def test_status_works_without_a_supervisor_and_without_a_table(ps):
    out = ps.run([ps.program("portsafe"), "status"])
    assert out.returncode == 0, out.stderr
    assert "nothing is claimed" in out.stdout
    assert ps.run([ps.program("portsafe"), "status", "--json"]).stdout.strip() == "[]"
    assert ps.supervisor_pid() is None, "status must not start a supervisor"


def test_status_usage_error_exits_2(ps):
    out = ps.run([ps.program("portsafe"), "status", "--bogus"])
    assert out.returncode == 2
    out = ps.run([ps.program("portsafe")])
    assert out.returncode == 2
