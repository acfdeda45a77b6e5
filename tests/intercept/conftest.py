"""Fixtures of the seccomp interception tests (tests/intercept/test_*.py)."""
import pytest

import interceptlib
import portsafe_testlib as tl

# A busy CI host: 16 ephemeral ports for every port-0 bind and outgoing connection of the
# namespace, so the bare idiom collides often (the experiment must show it, or it proves nothing).
EPHEMERAL = (40000, 40015)


@pytest.fixture
def tiny_ephemeral_range():
    if not tl.in_private_netns():
        pytest.skip("needs a private network namespace (run through ctest) to change ip_local_port_range")
    saved = tl.ephemeral_range()
    interceptlib.set_ephemeral_range(*EPHEMERAL)
    yield EPHEMERAL
    interceptlib.set_ephemeral_range(*saved)


@pytest.fixture(params=sorted(interceptlib.WORKERS))
def raw_worker(request):
    """The pick-a-port worker of each raw-syscall kind: a Go program and a -static C program."""
    return interceptlib.built_program(interceptlib.WORKERS[request.param])


@pytest.fixture
def go_worker():
    return interceptlib.built_program(interceptlib.WORKERS["go"])
