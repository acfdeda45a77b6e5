"""Node.js net.createServer().listen(0) under the shim listens on a port from the range, both on
an explicit IPv4 address and on the default dual-stack address."""
import json
import shutil

import pytest

import shimlib

RANGE = (24300, 24315)

PROGRAM = r"""
const net = require('net');
const ports = {};
const a = net.createServer().listen(0, '127.0.0.1', () => {
  ports.ipv4 = a.address().port;
  const b = net.createServer().listen(0, () => {
    ports.dual = b.address().port;
    console.log(JSON.stringify(ports));
    a.close(); b.close();
  });
});
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="nodejs is not installed (scripts/install-deps.sh)")
def test_node_listen_zero_comes_from_the_range(ps):
    ps.set_range(*RANGE)
    result = ps.run(["node", "-e", PROGRAM], env=ps.preload_env())
    assert result.returncode == 0, result.stderr
    ports = json.loads(result.stdout)
    assert shimlib.in_range(ports["ipv4"], RANGE), ports
    assert shimlib.in_range(ports["dual"], RANGE), ports
    assert ports["ipv4"] != ports["dual"]
