#!/usr/bin/env python3
"""Measures the one gap docs/docker.md admits: during `docker restart`, how often a process that
binds the held port by number with SO_REUSEADDR and listens gets it, for each way dockerd
publishes ports (Debian's docker-proxy, portsafe-docker-proxy, userland-proxy false).

Usage (root, in namespaces of its own):
  tests/lib/in_netns.sh python3 scripts/measure-restart-thief.py --prefix build/stage [--restarts 10]
Prints one line per mode: thief wins / tries, and the restarts that failed because the thief
held the port at the moment dockerd bound it.
"""
import argparse
import collections
import os
import pathlib
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
for i, arg in enumerate(sys.argv):  # the test library reads PORTSAFE_PREFIX when imported
    if arg == "--prefix" and i + 1 < len(sys.argv):
        os.environ["PORTSAFE_PREFIX"] = os.path.abspath(sys.argv[i + 1])
sys.path.insert(0, os.path.join(HERE, "..", "tests", "docker"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))

import dockerd_harness  # noqa: E402
import portsafe_testlib  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--restarts", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="restart-thief-") as tmp:
        ps = portsafe_testlib.Context(pathlib.Path(tmp))
        try:
            for mode in dockerd_harness.MODES:
                env = dict(ps.env)
                with dockerd_harness.private_dockerd(mode, env) as engine:
                    ps.env["DOCKER_HOST"] = f"unix://{engine.socket}"
                    failed = 0
                    with dockerd_harness.docker_job(ps, "web", "{{web}}:80") as job:
                        assert dockerd_harness.wait_served(job.port)
                        with dockerd_harness.PortThief(job.port, reuse_listen=True) as thief:
                            for _ in range(args.restarts):
                                if engine.docker("restart", "-t", "1", "c1", check=False).returncode != 0:
                                    failed += 1
                                dockerd_harness.wait_served(job.port, timeout=10)
                    engine.remove_all_containers()
                    where = ", ".join(f"{n} on {h}" for h, n in sorted(collections.Counter(s.split(" on ")[1] for s in thief.stolen).items()))
                    print(f"{mode}: SO_REUSEADDR+listen thief won {len(thief.stolen)} of {thief.attempts} tries ({where or 'none'}) "
                          f"over {args.restarts} restarts; {failed} restarts failed")
        finally:
            ps.cleanup()


if __name__ == "__main__":
    main()
