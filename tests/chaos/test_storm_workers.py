"""SIGKILL storm on wrapped workers during parallel jobs: each launcher reports 128+9, no port is
ever held by two live jobs at once, nothing hangs, and gc leaves nothing once all is dead."""
from chaoslib import Storm, children_of, gc_leaves_nothing, kill


def kill_a_worker(storm):
    for launcher in storm.rng.sample(storm.victims(), k=len(storm.victims())):
        for child in children_of(launcher):
            return kill(child)
    return False


def test_worker_storm(ps):
    ps.set_range(20000, 20039)
    storm = Storm(ps, seed=3)
    storm.run(kill_a_worker, min_kills=5)
    assert storm.kills >= 5
    assert storm.check_exclusive() >= 20
    assert 137 in storm.exit_codes and set(storm.exit_codes) <= {0, 137}, sorted(set(storm.exit_codes))
    storm.wait_workers_gone()
    assert gc_leaves_nothing(ps)
