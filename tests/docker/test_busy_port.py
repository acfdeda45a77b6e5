"""A port that is busy is a clear `docker run` error, in every mode: a process told the held
number listens on it (SO_REUSEADDR, as a consumer would: the kernel lets it in), and a second
container asks for a port the first one publishes. The hold is unharmed."""
import socket

from dockerd_harness import IMAGE, docker_job, launched_job, status_label, wait_served
from portsafe_testlib import port_is_bindable


def test_port_taken_by_another_listener(ps, engine):
    with launched_job(ps, "web") as job:
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("0.0.0.0", job.port))
            squatter.listen(1)
            run = engine.docker("run", "-d", "--name", "c1", "-p", f"{job.port}:80", IMAGE, check=False)
            assert run.returncode != 0, "docker run served a port another process listens on"
            assert "address already in use" in run.stderr.lower(), run.stderr
        assert status_label(ps, job.port) == "web"
        assert not port_is_bindable(job.port)


def test_port_published_by_another_container(ps, engine):
    with docker_job(ps, "web", "{{web}}:80") as job:
        assert wait_served(job.port)
        run = engine.docker("run", "-d", "--name", "c2", "-p", f"{job.port}:80", IMAGE, check=False)
        assert run.returncode != 0, "two containers publish one port"
        assert "port is already allocated" in run.stderr, run.stderr
        assert wait_served(job.port), "the first container lost the port"
