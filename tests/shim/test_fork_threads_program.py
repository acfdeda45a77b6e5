"""A GoogleTest binary whose tests fork and start threads, each binding port 0: under the shim
every port comes from the range and none is given twice (the binary checks, PORTSAFE_RANGE in
hand); the children's and threads' claims are all released when they close (listened on, never
served: each lingers for the job)."""
import os

import shimlib

RANGE = (24700, 24731)


def test_forking_threaded_gtest_binary_gets_distinct_range_ports(ps):
    ps.set_range(*RANGE)
    program = os.path.join(os.environ["PORTSAFE_BUILD_DIR"], "bin", "shim_fork_threads_program")
    result = ps.run([program], env=ps.preload_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[  PASSED  ] 2 tests." in result.stdout, result.stdout
    ports = [int(line.split()[-1]) for line in result.stdout.splitlines() if line.endswith(tuple("0123456789"))
             and " port " in line]
    assert len(ports) == 10, result.stdout
    table = shimlib.Table(ps.runtime_dir)
    assert all(table.state(port) == "linger" for port in ports), "each listened, closed unserved: lingers"


def test_the_same_binary_without_the_shim_fails_its_range_check(ps):
    """The control: unpreloaded, its ports are the kernel's, so its own check fails."""
    ps.set_range(*RANGE)
    program = os.path.join(os.environ["PORTSAFE_BUILD_DIR"], "bin", "shim_fork_threads_program")
    result = ps.run([program], env=ps.env)
    assert result.returncode != 0
