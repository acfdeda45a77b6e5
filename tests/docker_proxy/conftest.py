"""Fixtures for the portsafe-docker-proxy black-box tests."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def debian_docker_proxy():
    """Debian's docker-proxy 20.10 (scripts/fetch-docker-proxy.sh: apt-get download + dpkg -x,
    cached in the build directory). Skips, saying why, only when apt cannot fetch it."""
    cache = os.path.join(os.environ.get("PORTSAFE_BUILD_DIR", "/tmp"), "docker-proxy-cache")
    result = subprocess.run([os.path.join(ROOT, "scripts", "fetch-docker-proxy.sh"), cache],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        # ctest fetches it before (test docker_proxy.fetch_debian_docker_proxy, outside the
        # network namespace); only a run without apt access gets here.
        pytest.skip(f"Debian's docker-proxy unavailable: {result.stderr.strip()}")
    return result.stdout.strip()
