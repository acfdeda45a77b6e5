"""CPython's own sockets under the shim, unchanged: port 0 comes from the range for TCP and
UDP, IPv4 and IPv6; the bind-0/close/re-bind idiom works without SO_REUSEADDR."""
import json

import shimlib

RANGE = (24100, 24131)

PROGRAM = r"""
import json, socket
out = {}
for name, family, kind, host in [("tcp4", socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1"),
                                 ("udp4", socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1"),
                                 ("tcp6", socket.AF_INET6, socket.SOCK_STREAM, "::1"),
                                 ("udp6", socket.AF_INET6, socket.SOCK_DGRAM, "::")]:
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        out[name] = s.getsockname()[1]
# The idiom: pick, close, hand the number on, bind it again (no SO_REUSEADDR), serve.
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
with socket.socket() as again:
    again.bind(("127.0.0.1", port))
    again.listen()
    with socket.create_connection(("127.0.0.1", port)) as client, again.accept()[0] as conn:
        client.sendall(b"ping")
        out["idiom"] = [port, conn.recv(4).decode()]
print(json.dumps(out))
"""


def test_cpython_port_zero_binds_come_from_the_range(ps):
    ps.set_range(*RANGE)
    result = ps.run([shimlib.PYTHON, "-c", PROGRAM], env=ps.preload_env())
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "the shim is silent by default"
    out = json.loads(result.stdout)
    for name in ("tcp4", "udp4", "tcp6", "udp6"):
        assert shimlib.in_range(out[name], RANGE), (name, out)
    port, reply = out["idiom"]
    assert shimlib.in_range(port, RANGE)
    assert reply == "ping"


def test_without_the_shim_ports_come_from_the_kernel(ps):
    """The control: the same program unpreloaded gets ephemeral ports (so the check above means something)."""
    ps.set_range(*RANGE)
    result = ps.run([shimlib.PYTHON, "-c", PROGRAM], env=ps.env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert not any(shimlib.in_range(out[name], RANGE) for name in ("tcp4", "udp4", "tcp6", "udp6")), out
