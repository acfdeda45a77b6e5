"""Wrapping `pytest -n 4` (python3-pytest-xdist) over a suite whose tests use the bind-0/close/
re-bind idiom: flaky bare, clean under portsafe-run, in a netns with a tiny ephemeral range."""
import os
import re
import shutil

import pytest

import portsafe_testlib as tl
from run_helpers import run_prog, set_ephemeral_range

WORKER = os.path.join(os.path.dirname(__file__), "idiom_worker.py")
SUITE = '''
import pytest
import idiom_worker

@pytest.mark.parametrize("i", range(16))
def test_pick_a_port(i):
    assert idiom_worker.failures() == 0
'''

pytestmark = pytest.mark.skipif(not tl.in_private_netns(), reason="changes ip_local_port_range: needs ctest's private netns")


def failed(result):
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert re.search(r"\d+ (passed|failed)", summary), result.stdout + result.stderr
    match = re.search(r"(\d+) failed", summary)
    return int(match.group(1)) if match else 0


def test_pytest_xdist_flaky_bare_clean_wrapped(ps):
    set_ephemeral_range(40000, 40015)
    suite = ps.tmp / "suite"
    suite.mkdir()
    shutil.copy(WORKER, suite / "idiom_worker.py")
    (suite / "test_suite.py").write_text(SUITE)
    (suite / "pytest.ini").write_text("[pytest]\n")
    pytest_cmd = [tl.PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "4", str(suite)]
    bare = [failed(ps.run(pytest_cmd, cwd=suite, timeout=120)) for _ in range(3)]
    print(f"bare failures per run: {bare}")
    assert max(bare) > 0, "the bare run never failed: the experiment is void"
    wrapped = ps.run([run_prog(ps), "--job", "pytest-xdist"] + pytest_cmd, cwd=suite, timeout=120)
    assert failed(wrapped) == 0, wrapped.stdout
    assert wrapped.returncode == 0
