"""Issue 13: `portsafe status` and `portsafe doctor` say how crowded the range got. A job whose
picks fell back to the kernel (every port of the range had a live socket) is named with how many
ports it needed at least; a run that came near full (portsafed samples the peak use) is warned
about even when nothing fell back; a quiet run is reported as such."""
import textwrap

RANGE = (30000, 30015)  # 16 ports
# Opens N listening sockets with bind 0 (every one keeps its port: a live socket), waits for
# portsafed to sample the use (it looks every 20 ms), then exits.
HOLD = textwrap.dedent("""
    import socket, sys, time
    sockets = []
    for _ in range(int(sys.argv[1])):
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); sockets.append(s)
    time.sleep(0.3)
    print(" ".join(str(s.getsockname()[1]) for s in sockets))
""")


def run_job(ps, name, sockets):
    out = ps.run([ps.program("portsafe-run"), "--job", name, "--", "/usr/bin/python3", "-c", HOLD, str(sockets)])
    assert out.returncode == 0, out.stderr
    return [int(p) for p in out.stdout.split()], out.stderr


def report(ps, command):
    out = ps.run([ps.program("portsafe"), command])
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_a_job_that_needed_more_ports_than_the_range_is_named(ps):
    ps.set_range(*RANGE)
    ports, stderr = run_job(ps, "crowded", 18)
    outside = [p for p in ports if not RANGE[0] <= p <= RANGE[1]]
    assert len(outside) == 2, ports  # the 17th and 18th fell back to the kernel
    assert "is full" in stderr
    doctor = report(ps, "doctor")
    warning = [line for line in doctor.splitlines() if "needed at least" in line]
    assert warning and warning[0].startswith("warn"), doctor
    assert "job 'crowded' needed at least 18 ports" in warning[0], warning
    status = report(ps, "status").splitlines()[-1]
    assert "fallbacks 2" in status and "job 'crowded' needed at least 18 ports" in status, status


def test_a_run_that_came_near_full_is_warned_about(ps):
    ps.set_range(*RANGE)
    ports, _ = run_job(ps, "busy", 15)
    assert all(RANGE[0] <= p <= RANGE[1] for p in ports)
    doctor = report(ps, "doctor")
    warning = [line for line in doctor.splitlines() if "came near full" in line]
    assert warning and warning[0].startswith("warn"), doctor
    assert "peak 15 of 16 ports" in warning[0], warning


def test_a_quiet_run_reports_its_peak_without_a_warning(ps):
    ps.set_range(*RANGE)
    run_job(ps, "quiet", 3)
    doctor = report(ps, "doctor")
    assert "range use peaked at 3 of 16 ports" in doctor, doctor
    assert "came near full" not in doctor and "needed at least" not in doctor
