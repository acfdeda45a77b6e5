"""Rootless Docker runs the proxy in another network namespace (rootlesskit's) than the job.
The proxy there takes the socket from the job's supervisor: bound in the job's namespace, it
accepts clients of the job's namespace, while the proxy connects to the container in its own."""
import subprocess

import pytest

from proxy_harness import held_job, mapping_args, running_proxy, tcp_exchange, udp_exchange
import portsafe_testlib

# The "container": an echo server on 127.0.0.2 inside the proxy's namespace. The job's namespace
# has no such server, so an answer proves the proxy connected from its own namespace.
# It lives exactly as long as the proxy (argv[2]: the shell that execs into the proxy): a test must
# end every process it starts, and this one is started where the test cannot reach it.
NETNS_BACKEND = r'''
import os, select, socket, sys, threading
proto = sys.argv[1]
def exit_with_the_proxy(pid):
    pidfd = os.pidfd_open(pid)
    select.select([pidfd], [], [])
    os._exit(0)
threading.Thread(target=exit_with_the_proxy, args=(int(sys.argv[2]),), daemon=True).start()
if proto == "tcp":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.2", 7000)); s.listen(16)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.2", 7000))
print("ready", flush=True)
while True:
    if proto == "tcp":
        c, _ = s.accept()
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.sendall(b"from the other namespace: " + data); c.close()
    else:
        d, a = s.recvfrom(65536); s.sendto(b"from the other namespace: " + d, a)
'''


def in_new_netns(ps, proto):
    """A shell in a fresh network namespace running the backend, then exec'ing what we pass."""
    return ["unshare", "-n", "--", "/bin/sh", "-c",
            f'ip link set lo up && ({portsafe_testlib.PYTHON} -c \'{NETNS_BACKEND}\' {proto} $$ >/dev/null 2>&1 &) '
            f'&& for i in $(seq 100); do '
            f'{portsafe_testlib.PYTHON} -c "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_{"STREAM" if proto == "tcp" else "DGRAM"}); '
            f'sys.exit(0 if s.connect_ex((\'127.0.0.2\', 7000)) == 0 else 1)" 2>/dev/null && break; sleep 0.05; done; '
            f'exec "$0" "$@"']


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_proxy_in_another_netns_serves_the_jobs_port(ps, proto):
    if subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        pytest.skip("unshare -n is not permitted here")
    env = dict(ps.env, PORTSAFE_LOG="info")
    with held_job(ps, "web", proto=proto) as job:
        args = mapping_args(proto, job.port, "127.0.0.2", 7000)
        with running_proxy(args, env, prefix=in_new_netns(ps, proto)) as p:
            assert "socket from the supervisor" in p.stderr()
            if proto == "tcp":
                assert tcp_exchange("127.0.0.1", job.port, b"hello") == b"from the other namespace: hello"
            else:
                import socket
                # The readiness probe above cannot tell a bound UDP backend from none (a UDP
                # connect always succeeds), so the first datagram may reach the namespace before
                # the backend binds: resend, as any UDP client would, a bounded number of times.
                data = None
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
                    for _ in range(5):
                        try:
                            data, _ = udp_exchange(c, ("127.0.0.1", job.port), b"hello", timeout=1.0)
                            break
                        except TimeoutError:
                            continue
                assert data == b"from the other namespace: hello"
