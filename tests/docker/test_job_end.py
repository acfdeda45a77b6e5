"""The hold ends with the job: after the README's foreground `docker run --rm` stops, and when
portsafe-run itself is SIGKILLed while its container runs (the supervisor sees the connection
close). A port the supervisor kept listening for portsafe-docker-proxy is let go too: once the
container is gone, the port is free."""
import os
import signal
import subprocess

from dockerd_harness import DOCKER, IMAGE, docker_job, end_job, held_port_named, status_label, wait_served
from portsafe_testlib import first_line, port_is_bindable, program, wait_for


def test_foreground_run_releases_at_its_end(ps, engine):
    job = subprocess.Popen([program("portsafe-run"), "--port", "web", "--", DOCKER, "run", "--rm", "--name",
                            "c1", "-p", "{{web}}:80", IMAGE], env=ps.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = first_line(job, timeout=60)  # the container's "serving ..." line
        assert line.startswith("serving"), line
        port = held_port_named(ps, "web")
        assert wait_served(port), engine.log_tail()
        engine.docker("stop", "c1")
        assert job.wait(timeout=30) == 0
        assert wait_for(lambda: status_label(ps, port) is None), "held after the job"
        assert wait_for(lambda: port_is_bindable(port)), "not free after the job"
    finally:
        end_job(job)


def test_sigkilled_launcher_releases(ps, engine):
    with docker_job(ps, "web", "{{web}}:80") as job:
        assert wait_served(job.port)
        os.kill(job.proc.pid, signal.SIGKILL)
        assert job.proc.wait(timeout=10) == -signal.SIGKILL
        assert wait_for(lambda: status_label(ps, job.port) is None, timeout=5), "held after portsafe-run died"
        assert wait_served(job.port), "the running container lost its port with the hold"
        engine.docker("rm", "-f", "c1")
        assert wait_for(lambda: port_is_bindable(job.port), timeout=5), "not free once the container is gone"
