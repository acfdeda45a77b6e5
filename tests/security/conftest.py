"""Fixtures of the security tests: the intruder (another uid) and a runtime root it can reach."""
import os
import shutil

import pytest

import securitylib


@pytest.fixture
def intruder():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root (to create and become another user) and setpriv")
    return securitylib.ensure_intruder()


@pytest.fixture
def shared_ps(ps):
    """ps with its runtime root under /tmp, so only portsafe's own modes keep other users out."""
    securitylib.reachable_root(ps)
    try:
        yield ps
    finally:
        securitylib.remove_root(ps)
