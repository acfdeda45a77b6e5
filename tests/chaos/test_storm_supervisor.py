"""SIGKILL storm on portsafed during parallel jobs: launchers never hang (they end, or report 125
in one line when the supervisor died under them), no port is ever held by two live jobs at once,
a new supervisor starts cleanly from the table the dead one left, and gc leaves nothing."""
import pytest

from chaoslib import Storm, gc_leaves_nothing, kill


def kill_the_supervisor(storm):
    pid = storm.ps.supervisor_pid()
    return bool(pid) and kill(pid)


def test_supervisor_storm(ps):
    ps.set_range(20000, 20039)
    storm = Storm(ps, seed=9)
    storm.run(kill_the_supervisor, interval=(0.2, 0.6))
    assert storm.kills >= 3
    storm.wait_workers_gone()
    lost_holds = []
    assert storm.check_exclusive(lost_holds) >= 10
    # 3 is a worker that lost its hold with the killed supervisor (collected in lost_holds).
    allowed = {0, 125} | ({3} if lost_holds else set())
    assert set(storm.exit_codes) <= allowed, sorted(set(storm.exit_codes))
    # A fresh supervisor starts from the table the killed ones left: holds reaped, ports reusable.
    out = ps.run([ps.program("portsafe-run"), "--port", "a", "--port", "b", "--", "sh", "-c",
                  "echo $PORTSAFE_PORT_A $PORTSAFE_PORT_B"], timeout=60)
    assert out.returncode == 0, out.stderr
    assert all(20000 <= int(p) <= 20039 for p in out.stdout.split())
    assert gc_leaves_nothing(ps)
    if lost_holds:
        # Every other property held; this one is the documented limit (README "Limits"): a job
        # whose supervisor was SIGKILLed lost its holds, and portsafe-run does not re-reserve.
        pytest.xfail(f"{len(lost_holds)} worker(s) lost their job's hold with the killed supervisor: "
                     f"{lost_holds[:3]}")
