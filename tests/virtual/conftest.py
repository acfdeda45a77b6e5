"""Fixtures of the virtual-port tests (tests/virtual/test_*.py)."""
import os

import pytest

import virtuallib

# The tiers a behaviour is proven in: each test taking `mode` runs once per tier. bpf needs root
# (CAP_BPF + CAP_NET_ADMIN) and cgroup2 (skipped otherwise); shim needs neither. A behaviour only
# one tier has pins it with @pytest.mark.parametrize("mode", [...], indirect=True).
MODES = ["bpf", "shim"]


def require_mode(mode):
    if mode == "bpf":
        if os.geteuid() != 0:
            pytest.skip("bpf mode needs root")
        if virtuallib.cgroup2_mount() is None:
            pytest.skip("bpf mode needs a cgroup2 mount")


@pytest.fixture(params=MODES)
def mode(request):
    require_mode(request.param)
    return request.param


@pytest.fixture
def barrier(tmp_path):
    path = tmp_path / "barrier"
    path.mkdir()
    return str(path)
