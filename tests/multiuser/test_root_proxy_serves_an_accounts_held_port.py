"""Held ports and the proxy across accounts, with the host daemon running: an account's job holds
a port (`portsafe-run --port web`, in a block leased to that account); portsafe-docker-proxy run
as root without PORTSAFE_RUNTIME_DIR (as dockerd starts it) finds the account's supervisor through
the tables, takes the held socket and serves the port; meanwhile another account's picks never
return it and its fixed bind is refused."""
import contextlib
import os
import signal
import subprocess
import sys

from multiuserlib import PYTHON, Registry, assert_picks_from_portsafe, picking, program, wait_for

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docker_proxy"))
from proxy_harness import EchoHandler, mapping_args, running_proxy, tcp_backend, tcp_exchange  # noqa: E402

FIXED_BIND = """
import errno, socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    print("bound")
except OSError as e:
    print("EADDRINUSE" if e.errno == errno.EADDRINUSE else f"errno {e.errno}")
"""


@contextlib.contextmanager
def holding_job(account, work):
    ports_file = work.file(f"{account.name}.held")
    proc = account.popen([program("portsafe-run"), "--port", "web", "--", "sh", "-c",
                          'echo "$PORTSAFE_PORT_WEB" > "$0.tmp" && mv "$0.tmp" "$0" && exec sleep 300', ports_file],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert wait_for(lambda: os.path.exists(ports_file) or proc.poll() is not None, timeout=30)
        assert os.path.exists(ports_file), proc.stderr.read()
        with open(ports_file) as f:
            yield int(f.read())
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_root_proxy_serves_an_accounts_held_port(host, make_accounts, work):
    owner, other = make_accounts(2, host)
    with holding_job(owner, work) as port:
        registry = Registry(host.registry_path)
        assert registry.owner_of(port) == (owner.uid, os.path.basename(owner.table)), \
            f"held port {port} is not in a block leased to its account: {registry.block_of(port)}"
        env = {"PATH": "/usr/bin:/bin", "PORTSAFE_LOG": "info", **host.env()}
        with tcp_backend(EchoHandler) as (cip, cport), running_proxy(mapping_args("tcp", port, cip, cport), env) as p:
            assert "socket from the supervisor" in p.stderr(), p.stderr()
            assert f"held by the supervisor at {owner.root}/portsafed.sock" in p.stderr(), p.stderr()
            assert tcp_exchange("127.0.0.1", port, b"across accounts") == b"across accounts"
            with picking([other], work, 2000, keep_every=0) as (results, _):
                (tag, result), = results.items()
                assert_picks_from_portsafe(result, tag)
                assert port not in result["tcp"], f"{tag} was given the held port {port}"
                out = other.run([program("portsafe-run"), "--", PYTHON, "-c", FIXED_BIND, str(port)])
                assert out.returncode == 0 and out.stdout.strip() == "EADDRINUSE", out.stdout + out.stderr
            assert tcp_exchange("127.0.0.1", port, b"still served") == b"still served"
    assert host.alive(), host.log()[-3000:]
