"""Under --intercept seccomp a dynamic program keeps the shim: its port-0 bind is the shim's pick,
claimed by the program itself (the shim's owner), and no notification serves it (the handler logs
each bind it serves with -v, and names no bind of that port); in the same job a Go program's bind
is the handler's (claimed by portsafe-run, logged). Both picks are in the job's range."""
import shlex
import subprocess

import interceptlib as il
import portsafe_testlib as tl

RANGE = (31000, 31019)
PYTHON_HOLDER = ("import os, socket, time\n"
                 "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
                 "print(s.getsockname()[1], os.getpid(), flush=True)\n"
                 "time.sleep(600)\n")


def read_fields(path):
    try:
        with open(path) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def test_shim_reached_program_keeps_the_shim(ps, go_worker):
    ps.set_range(*RANGE)
    py_file, go_file = str(ps.tmp / "python"), str(ps.tmp / "go")
    script = (f"{tl.PYTHON} -c {shlex.quote(PYTHON_HOLDER)} >{shlex.quote(py_file)} &\n"
              f"{shlex.quote(go_worker)} -mode hold >{shlex.quote(go_file)} &\n"
              "wait\n")
    job = subprocess.Popen([ps.program("portsafe-run"), "-v", "--intercept", "seccomp", "--job", "mixed", "--", "sh", "-c", script],
                           env=ps.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        tl.wait_for(lambda: (len(read_fields(py_file)) == 2 and read_fields(go_file)) or job.poll() is not None, timeout=30)
        assert len(read_fields(py_file)) == 2 and read_fields(go_file), f"a holder printed nothing; job exited {job.poll()}"
        py_port, py_pid = map(int, read_fields(py_file))
        go_port = int(read_fields(go_file)[0])
        assert RANGE[0] <= py_port <= RANGE[1] and RANGE[0] <= go_port <= RANGE[1], (py_port, go_port)

        claims = {e["port"]: e for e in il.status_entries(ps) if e["proto"] == "tcp"}
        assert py_port in claims and go_port in claims, claims
        assert claims[py_port]["pid"] == py_pid, f"the python program's port is not the shim's claim: {claims[py_port]}"
        assert claims[go_port]["pid"] == job.pid, f"the Go program's port is not the handler's claim: {claims[go_port]}"
    finally:
        il.end_group(job)
        _, err = job.communicate(timeout=30)
    served = [line for line in err.splitlines() if "seccomp" in line and "bind" in line]
    assert any(str(go_port) in line for line in served), f"the handler logged no bind of the Go program's port: {err}"
    assert not any(str(py_port) in line for line in served), f"a notification served the shim's bind too: {served}"
