"""The README's command for real: `portsafe-run --port web -- docker run -p {{web}}:80 ...` serves
the held port through a private dockerd, tcp and udp, with and without a host IP, in each of the
three ways dockerd publishes ports (Debian's docker-proxy, portsafe-docker-proxy, no userland
proxy); when the job ends the port is free again.

UDP through Debian's docker-proxy or dockerd's own listener (userland-proxy false) is refused:
Go binds UDP without SO_REUSEADDR, so the kernel refuses that bind over the held placeholder. The
refusal is a clear `docker run` error and the port stays held (docs/docker.md, UDP)."""
import pytest

from dockerd_harness import IMAGE, docker_job, launched_job, status_label, tcp_echo, udp_echo, wait_served
from portsafe_testlib import port_is_bindable, wait_for


@pytest.mark.parametrize("publish", ["{{web}}:80", "127.0.0.1:{{web}}:80"])
def test_tcp_port_is_served_then_released(ps, engine, publish):
    with docker_job(ps, "web", publish) as job:
        assert wait_served(job.port), engine.log_tail()
        for n in range(20):
            assert tcp_echo("127.0.0.1", job.port, f"request {n}\n".encode()) == f"request {n}\n".encode()
        # Without a proxy dockerd forwards with iptables only, and it has no rule for ::1.
        if not publish.startswith("127.") and engine.mode != "noproxy":
            assert wait_served(job.port, host="::1"), "the IPv6 side of -p {{web}}:80 does not serve"
        assert not port_is_bindable(job.port), "a plain bind got the served port"
        engine.docker("rm", "-f", "c1")
    assert wait_for(lambda: port_is_bindable(job.port), timeout=5), "the port is not free after the job"


@pytest.mark.parametrize("publish", ["{{web}}:80/udp", "127.0.0.1:{{web}}:80/udp"])
def test_udp_port_is_served_then_released(ps, engine, publish):
    if engine.mode != "portsafe":
        pytest.skip("Go's UDP bind cannot share the held port: test_udp_refused_without_portsafe_proxy")
    with docker_job(ps, "web/udp", publish) as job:
        assert wait_served(job.port, proto="udp"), engine.log_tail()
        for n in range(20):
            assert udp_echo("127.0.0.1", job.port, f"datagram {n}".encode()) == f"datagram {n}".encode()
        assert not port_is_bindable(job.port, proto="udp"), "a plain bind got the served port"
        engine.docker("rm", "-f", "c1")
    assert wait_for(lambda: port_is_bindable(job.port, proto="udp"), timeout=5), "the port is not free after the job"


@pytest.mark.parametrize("publish", ["{{web}}:80/udp", "127.0.0.1:{{web}}:80/udp"])
def test_udp_refused_without_portsafe_proxy(ps, engine, publish):
    if engine.mode == "portsafe":
        pytest.skip("portsafe-docker-proxy serves held UDP ports: test_udp_port_is_served_then_released")
    with launched_job(ps, "web/udp") as job:
        run = engine.docker("run", "-d", "--name", "c1", "-p", publish.replace("{{web}}", str(job.port)), IMAGE,
                            check=False)
        assert run.returncode != 0, "Go's UDP bind shared the held placeholder"
        assert "address already in use" in run.stderr.lower(), run.stderr
        assert status_label(ps, job.port, "udp") == "web"
        assert not port_is_bindable(job.port, proto="udp")
