"""Fixtures of the real-Docker tier: one private dockerd per mode, shared by the tests of one file
(ctest runs each file in its own namespaces), stopped with its containers at the end of the
mode's tests. See dockerd_harness.py."""
import os

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
