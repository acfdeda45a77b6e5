"""dockerd 20.10 starts its userland proxy with stderr on /dev/null; portsafe-docker-proxy's lines
(PORTSAFE_LOG=info here, in dockerd's environment) land in portsafe-docker-proxy.log in the job's
runtime root instead (docs/docker.md, Logs)."""
import os

from dockerd_harness import docker_job, wait_served
from portsafe_testlib import wait_for

DOCKERD_MODES = ("portsafe",)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def test_proxy_lines_reach_the_runtime_root(ps, engine):
    log = os.path.join(ps.runtime_dir, "portsafe-docker-proxy.log")
    with docker_job(ps, "web", "{{web}}:80") as job:
        assert wait_served(job.port)
        expected = f"serving tcp 0.0.0.0:{job.port} -> "
        assert wait_for(lambda: expected in read(log), timeout=5), f"{log}:\n{read(log)}"
        assert f"serving tcp [::]:{job.port} -> " in read(log), read(log)
        assert all(line.startswith("portsafe-docker-proxy: ") for line in read(log).splitlines()), read(log)
