"""The Debian package (`cpack` in the build tree) carries every program, the shim and the systemd
units under /usr, declares the shared libraries it needs, and works where it is unpacked: the
programs find their siblings relative to their own path."""
import os
import subprocess

import pytest

BUILD = os.environ.get("PORTSAFE_BUILD_DIR", "")


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    if not os.path.exists(os.path.join(BUILD, "CPackConfig.cmake")):
        pytest.fail(f"no CPackConfig.cmake in PORTSAFE_BUILD_DIR={BUILD!r}: configure the build first")
    out_dir = tmp_path_factory.mktemp("package")
    done = subprocess.run(["cpack", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", str(out_dir)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    debs = [p for p in os.listdir(out_dir) if p.endswith(".deb")]
    assert len(debs) == 1, os.listdir(out_dir)
    return out_dir / debs[0]


def dpkg_deb(*args):
    done = subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def test_package_holds_programs_shim_and_units(deb):
    listing = dpkg_deb("--contents", str(deb))
    for path in ("./usr/bin/portsafe-run", "./usr/bin/portsafe", "./usr/bin/portsafed",
                 "./usr/bin/portsafe-docker-proxy", "./usr/lib/libportsafe.so"):
        assert path in listing, f"{path} missing from the package:\n{listing}"
    assert "./usr/share/portsafe/systemd/" in listing, listing


def test_package_declares_its_libraries(deb):
    depends = dpkg_deb("--field", str(deb), "Depends")
    assert "libc6" in depends, depends


def test_unpacked_package_runs_a_job(deb, tmp_path, ps):
    root = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, timeout=60)
    ps.set_range(20000, 20099)
    code = ("import os, socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); "
            "print(os.environ['PORTSAFE_PORT_WEB'], s.getsockname()[1], os.environ['LD_PRELOAD'])")
    out = ps.run([str(root / "usr/bin/portsafe-run"), "--port", "web", "--", "/usr/bin/python3", "-c", code], timeout=60)
    assert out.returncode == 0, out.stderr
    held, picked, preload = out.stdout.split()
    # The shim and the supervisor are the unpacked ones, found next to this portsafe-run.
    assert preload == str(root / "usr/lib/libportsafe.so")
    assert os.readlink(f"/proc/{ps.supervisor_pid()}/exe") == str(root / "usr/bin/portsafed")
    # Both the held port and the pick come from the job's range, and differ.
    assert 20000 <= int(held) <= 20099 and 20000 <= int(picked) <= 20099
    assert held != picked
