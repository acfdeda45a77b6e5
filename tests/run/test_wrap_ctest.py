"""Wrapping a real parallel runner: `ctest -j8` on a generated project whose tests use the
bind-0/close/re-bind idiom. With a tiny ephemeral range it is flaky bare and clean wrapped."""
import os
import re
import shutil
import subprocess

import pytest

import portsafe_testlib as tl
from run_helpers import run_prog, set_ephemeral_range

TESTS = 16
PARALLEL = 8
WORKER = os.path.join(os.path.dirname(__file__), "idiom_worker.py")

pytestmark = pytest.mark.skipif(not tl.in_private_netns(), reason="changes ip_local_port_range: needs ctest's private netns")


def make_project(root):
    src = root / "src"
    src.mkdir()
    shutil.copy(WORKER, src / "idiom_worker.py")
    lines = ["cmake_minimum_required(VERSION 3.22)", "project(idiom NONE)", "enable_testing()"]
    lines += [f"add_test(NAME idiom_{i} COMMAND {tl.PYTHON} ${{CMAKE_CURRENT_SOURCE_DIR}}/idiom_worker.py)"
              for i in range(TESTS)]
    (src / "CMakeLists.txt").write_text("\n".join(lines) + "\n")
    build = root / "build"
    subprocess.run(["cmake", "-S", str(src), "-B", str(build)], check=True, capture_output=True, timeout=120)
    return build


def failed_tests(result):
    match = re.search(r"(\d+) tests failed out of (\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert int(match.group(2)) == TESTS
    return int(match.group(1))


def test_ctest_flaky_bare_clean_wrapped(ps):
    set_ephemeral_range(40000, 40031)
    build = make_project(ps.tmp)
    ctest = ["ctest", "--test-dir", str(build), "-j", str(PARALLEL)]
    # Bare: collisions are likely, not certain; up to three runs must show at least one.
    bare = [failed_tests(ps.run(ctest, timeout=120)) for _ in range(3)]
    print(f"bare failures per run: {bare}")
    assert max(bare) > 0, "the bare run never failed: the experiment is void"
    wrapped = ps.run([run_prog(ps), "--job", "ctest"] + ctest, timeout=120)
    assert failed_tests(wrapped) == 0, wrapped.stdout
    assert wrapped.returncode == 0
