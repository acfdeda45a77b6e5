"""16 jobs in parallel with 4 named ports each get 64 distinct ports, all held at once."""
import os

import portsafe_testlib as tl
from run_helpers import kill_group, parse_print, start

JOBS = 16
NAMES = ["web", "db", "cache", "queue"]


def test_sixteen_jobs_get_sixty_four_distinct_ports(ps):
    go = ps.tmp / "go"
    procs = []
    try:
        for i in range(JOBS):
            args = ["--print", "--job", f"job-{i}"] + [a for n in NAMES for a in ("--port", n)]
            # Every job stays alive until all have their ports, so all 64 are held at the same time.
            procs.append(start(ps, args + ["--", "sh", "-c", f"while [ ! -e {go} ]; do sleep 0.02; done"]))
        ports = []
        for proc in procs:
            got = {}
            while len(got) < len(NAMES):
                line = proc.stderr.readline()
                assert line, f"job ended early: {proc.wait(timeout=10)}"
                got.update(parse_print(line))
            assert sorted(got) == sorted(NAMES)
            ports += got.values()
        assert len(ports) == JOBS * len(NAMES)
        assert len(set(ports)) == JOBS * len(NAMES), "two jobs were given the same port"
        assert not any(tl.port_is_bindable(p) for p in ports), "every reserved port is held"
        go.touch()
        assert [p.wait(timeout=30) for p in procs] == [0] * JOBS
    finally:
        go.touch()
        for proc in procs:
            kill_group(proc)
