"""SIGKILL storm on portsafe-run launchers during parallel jobs: the job ends with its launcher,
no port is ever held by two live jobs at once, nothing hangs, and gc leaves nothing once all is
dead. Killing the launcher's whole process group is what CI runners do on a timeout; killing the
launcher alone leaves COMMAND running without its job."""
import os
import signal

from chaoslib import Storm, gc_leaves_nothing, kill


def kill_a_job_group(storm):
    victims = storm.victims()
    if not victims:
        return False
    try:
        os.killpg(storm.rng.choice(victims), signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


def kill_a_launcher(storm):
    victims = storm.victims()
    return bool(victims) and kill(storm.rng.choice(victims))


def test_launcher_group_storm(ps):
    ps.set_range(20000, 20039)
    storm = Storm(ps, seed=5)
    storm.run(kill_a_job_group, min_kills=5)
    assert storm.kills >= 5
    assert storm.check_exclusive() >= 20
    assert -9 in storm.exit_codes and set(storm.exit_codes) <= {0, -9, 137}, sorted(set(storm.exit_codes))
    storm.wait_workers_gone()
    assert gc_leaves_nothing(ps)


def test_launcher_alone_storm(ps):
    ps.set_range(20000, 20039)
    storm = Storm(ps, seed=7)
    storm.run(kill_a_launcher, min_kills=5)
    assert storm.kills >= 5
    storm.wait_workers_gone()
    assert storm.check_exclusive() >= 20
    assert gc_leaves_nothing(ps)
