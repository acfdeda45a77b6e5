"""SIGKILL storm on portsafed during parallel jobs: launchers never hang (they end, or report 125
in one line when the supervisor died under them during setup), a running job keeps its held port
across supervisor deaths (portsafe-run holds the same number again through a fresh supervisor,
which keeps a dead one's holds for their running jobs), so no port is ever held by two live jobs
at once and no worker loses its port; gc leaves nothing."""
from chaoslib import Storm, gc_leaves_nothing, kill


def kill_the_supervisor(storm):
    pid = storm.ps.supervisor_pid()
    return bool(pid) and kill(pid)


def test_supervisor_storm(ps):
    ps.set_range(20000, 20039)
    storm = Storm(ps, seed=9)
    storm.run(kill_the_supervisor, interval=(0.2, 0.6), min_kills=3)
    assert storm.kills >= 3, (storm.kills, storm.samples, sorted(set(storm.exit_codes)))
    storm.wait_workers_gone()
    # A worker that could not take its job's port (exit 3, "conflict") lost its hold: a failure.
    assert storm.check_exclusive() >= 10
    assert set(storm.exit_codes) <= {0, 125}, sorted(set(storm.exit_codes))
    # A fresh supervisor starts from the table the killed ones left: holds reaped, ports reusable.
    out = ps.run([ps.program("portsafe-run"), "--port", "a", "--port", "b", "--", "sh", "-c",
                  "echo $PORTSAFE_PORT_A $PORTSAFE_PORT_B"], timeout=60)
    assert out.returncode == 0, out.stderr
    assert all(20000 <= int(p) <= 20039 for p in out.stdout.split())
    assert gc_leaves_nothing(ps)
