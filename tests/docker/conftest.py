"""Fixtures of the real-Docker tier: one private dockerd per mode, shared by the tests of one file
(ctest runs each file in its own namespaces), stopped with its containers at the end of the
mode's tests. See dockerd_harness.py."""

import pytest

import dockerd_harness
import portsafe_testlib


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """The runtime root shared by the jobs of a file and by dockerd (PORTSAFE_RUNTIME_DIR in its
    environment tells portsafe-docker-proxy where to look: docs/docker.md, Rootful Docker)."""
    reason = dockerd_harness.skip_reason()
    if reason:
        pytest.skip(reason)
    ctx = portsafe_testlib.Context(tmp_path_factory.mktemp("ps"))
    try:
        yield ctx
    finally:
        ctx.cleanup()


@pytest.fixture(scope="module", params=dockerd_harness.MODES)
def engine(request, context):
    # A file about one mode names it (DOCKERD_MODES), so no dockerd starts just to be skipped.
    if request.param not in getattr(request.module, "DOCKERD_MODES", dockerd_harness.MODES):
        pytest.skip(f"{request.module.__name__} is about other modes than {request.param}")
    env = dict(context.env)
    env["PORTSAFE_LOG"] = "info"  # what the proxy logs lands in the runtime root (docs/docker.md)
    with dockerd_harness.private_dockerd(request.param, env) as started:
        context.env["DOCKER_HOST"] = f"unix://{started.socket}"
        try:
            yield started
        finally:
            context.env.pop("DOCKER_HOST", None)


@pytest.fixture
def ps(context, engine):
    """The file's context, with DOCKER_HOST naming this mode's dockerd; containers of a test
    are removed after it."""
    try:
        yield context
    finally:
        engine.remove_all_containers()


# Where dockerd cannot run, the file's tests are skipped: the reason is said once, and the exit
# status 77 makes ctest report the file as skipped (SKIP_RETURN_CODE in CMakeLists.txt) rather
# than passed.
def pytest_terminal_summary(terminalreporter):
    reason = dockerd_harness.skip_reason()
    if reason:
        terminalreporter.write_line(reason)


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and dockerd_harness.skip_reason():
        session.exitstatus = 77
