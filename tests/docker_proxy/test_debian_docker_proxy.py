"""Debian's docker-proxy 20.10 (the real one, fetched by scripts/fetch-docker-proxy.sh) run
under `portsafe-run --port web` binds over the job's placeholder (SO_REUSEADDR) and serves:
tier 2 protects even a Go binary the shim cannot reach."""
import os
import re
import signal
import subprocess

from proxy_harness import EchoHandler, read_status, tcp_backend, tcp_exchange
import portsafe_testlib


def test_real_docker_proxy_binds_over_the_placeholder(ps, debian_docker_proxy, tmp_path):
    with tcp_backend(EchoHandler) as (cip, cport):
        read_end, write_end = os.pipe()
        log = open(tmp_path / "run.err", "w+")
        # dockerd gives docker-proxy a status pipe as fd 3; portsafe-run passes it through.
        proc = subprocess.Popen(
            [portsafe_testlib.program("portsafe-run"), "--print", "--port", "web", "--", debian_docker_proxy,
             "-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "{{web}}",
             "-container-ip", cip, "-container-port", str(cport)],
            env=ps.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
            close_fds=False, preexec_fn=lambda: (os.dup2(write_end, 3), None)[1])
        os.close(write_end)
        try:
            status = read_status(read_end, proc)
            log.seek(0)
            text = log.read()
            assert status == "0\n", (status, text)
            port = int(re.search(r"web=(\d+)", text).group(1))
            # The port is the job's: held in the table, and served by docker-proxy's own listener.
            assert tcp_exchange("127.0.0.1", port, b"through docker-proxy") == b"through docker-proxy"
            assert not portsafe_testlib.port_is_bindable(port)
        finally:
            os.close(read_end)
            proc.send_signal(signal.SIGINT)  # portsafe-run forwards it; docker-proxy exits 0
            assert proc.wait(timeout=15) == 0
            log.close()
