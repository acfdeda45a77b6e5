"""`portsafe status` names the port right through a container's life: `-p {{web}}:80` makes dockerd
start two proxies (0.0.0.0 and ::); with portsafe-docker-proxy the label is `web -> ADDRESS:80`
while the container serves and `web` again once it stops, across stop/start. Debian's
docker-proxy and dockerd's own listener never label: `web` throughout."""
from dockerd_harness import container_address, docker_job, status_label, wait_served
from portsafe_testlib import wait_for


def serving_label(engine):
    return f"web -> {container_address(engine)}:80" if engine.mode == "portsafe" else "web"


def test_label_follows_the_container(ps, engine):
    with docker_job(ps, "web", "{{web}}:80") as job:
        for round_ in range(2):
            assert wait_served(job.port), engine.log_tail()
            expected = serving_label(engine)
            assert wait_for(lambda: status_label(ps, job.port) == expected), \
                f"round {round_}: {status_label(ps, job.port)!r} while served, expected {expected!r}"
            engine.docker("stop", "c1")
            assert wait_for(lambda: status_label(ps, job.port) == "web"), \
                f"round {round_}: {status_label(ps, job.port)!r} after docker stop, expected 'web'"
            engine.docker("start", "c1")
        assert wait_served(job.port)
    assert wait_for(lambda: status_label(ps, job.port) is None), "still held after the job"
