"""Fixtures shared by the black-box tests (tests/<part>/test_*.py).

Each test runs in its own network namespace (tests/lib/in_netns.sh, set up by ctest) and gets a
private runtime root, so its supervisor and table are its own. Programs are the *installed* ones:
$PORTSAFE_PREFIX/bin/... and $PORTSAFE_PREFIX/lib/libportsafe.so.
"""
import contextlib
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


@pytest.fixture(scope="session", autouse=True)
def no_table_left_behind(tmp_path_factory):
    """Fails the run when a test leaves the table of a temporary root it made in /dev/shm (shared
    by every run on the host, it is never reclaimed otherwise). Segments of other runs are left
    alone; those of this session are reported, then removed."""
    before = portsafe_testlib.table_segments()
    base = str(tmp_path_factory.getbasetemp())
    yield
    leaked = portsafe_testlib.leaked_tables(before, portsafe_testlib.SESSION_ROOTS, base)
    for path in leaked:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    if leaked:
        pytest.fail("tables of temporary runtime roots left in /dev/shm (remove them in the fixture that made "
                    f"the root, e.g. portsafe_testlib.remove_root_table): {leaked}", pytrace=False)
