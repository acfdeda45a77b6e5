"""Issue 13: a pick handed to a server 500 ms later still gets its port under pressure. Another
job churns listen-only picks through a 64-port range (every pick lingers, so the range is full of
lingers and its lingers give way to new picks, wrapping the range many times a second). A probe
job picks a number, waits 500 ms, then binds it: its number must still be its own, because the
churning job's own lingers give way before another job's young one."""
import json
import os

import portsafe_testlib as tl
from run_helpers import PYTHON, kill_group, run_prog, start

RANGE = (30000, 30063)
HERE = os.path.dirname(__file__)
PRESSURE_WORKERS, PRESSURE_ROUNDS = 4, 100000
PROBES, DELAY = 5, 0.5


def test_a_number_handed_on_for_500_ms_keeps_its_port_while_another_job_churns(ps):
    ps.set_range(*RANGE)
    pressure = start(ps, ["--job", "pressure", "--", PYTHON, os.path.join(HERE, "listen_only_job.py"),
                          str(PRESSURE_WORKERS), str(PRESSURE_ROUNDS)])
    try:
        # The pressure is on once the range has been wrapped: every port lingers or is bound.
        assert tl.wait_for(lambda: os.path.exists(tl.table_shm_path(ps.runtime_dir)), timeout=30)
        table = tl.Table(ps.runtime_dir)
        assert tl.wait_for(lambda: table.counters()["picks"] > 4 * (RANGE[1] - RANGE[0] + 1), timeout=60), \
            f"the pressure job never got going: {table.counters()}"
        before = table.counters()
        probe = ps.run([run_prog(ps), "--job", "probe", "--", PYTHON, os.path.join(HERE, "handover_probe.py"),
                        str(PROBES), str(DELAY)], timeout=60)
        after = table.counters()
        assert pressure.poll() is None, "the pressure job ended before the probe did: no pressure was measured"
    finally:
        kill_group(pressure)
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    picks_during = after["picks"] - before["picks"]
    given_way = after["young_lingers_given_way"] - before["young_lingers_given_way"]
    print(f"{picks_during} picks by the churning job during the probe's {PROBES} handovers of {DELAY} s; "
          f"{given_way} young lingers gave way; probe: {result}")
    # Real pressure: the range was wrapped many times while each number waited for its server.
    assert picks_during > PROBES * 4 * (RANGE[1] - RANGE[0] + 1)
    assert result["failures"] == [], result
    assert all(tl.in_range(p, RANGE) for p in result["ports"]), "a probe pick came from the kernel"
