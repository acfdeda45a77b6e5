"""Fixtures shared by the black-box tests (tests/<part>/test_*.py).

Each test runs in its own network namespace (tests/lib/in_netns.sh, set up by ctest) and gets a
private runtime root, so its supervisor and table are its own. Programs are the *installed* ones:
$PORTSAFE_PREFIX/bin/... and $PORTSAFE_PREFIX/lib/libportsafe.so.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import portsafe_testlib  # noqa: E402


@pytest.fixture
def ps(tmp_path):
    """An isolated portsafe installation context: env, program paths, cleanup of its supervisor."""
    ctx = portsafe_testlib.Context(tmp_path)
    try:
        yield ctx
    finally:
        ctx.cleanup()
