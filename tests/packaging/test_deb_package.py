"""The Debian package (`cpack` in the build tree) carries every program, the shim and the systemd
units under /usr, declares the shared libraries it needs, and works where it is unpacked: the
programs find their siblings relative to their own path. Its maintainer scripts turn the host
daemon's units on at the first install, keep the admin's choice on upgrades and clean up on
removal (run in a sandbox: a private mount namespace and a fake systemctl)."""
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


# ---- the host daemon's units (issue 16) ----------------------------------------------------------
HOST_UNITS = ("portsafe-host.socket", "portsafe-host.service")


def test_package_holds_the_host_units_where_systemd_reads_them(deb, tmp_path):
    listing = dpkg_deb("--contents", str(deb))
    for unit in HOST_UNITS:
        for folder in ("./usr/lib/systemd/system/", "./usr/share/portsafe/systemd/"):
            assert folder + unit in listing, f"{folder}{unit} missing from the package:\n{listing}"
    root = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, timeout=60)
    service = (root / "usr/lib/systemd/system/portsafe-host.service").read_text()
    assert "ExecStart=/usr/bin/portsafed --host" in service, service
    socket_unit = (root / "usr/lib/systemd/system/portsafe-host.socket").read_text()
    for line in ("ListenStream=/run/portsafe/host.sock", "SocketMode=0666", "DirectoryMode=0755"):
        assert line in socket_unit, socket_unit


# The maintainer scripts run in a sandbox: a private mount namespace where /run is a fresh tmpfs
# (with /run/systemd/system when "systemd runs") and /var/lib a scratch directory, and a fake
# systemctl that records its calls. The real host's systemd and dpkg state are never touched.
SANDBOX = r"""
set -e
mount -t tmpfs tmpfs /run
[ "$SYSTEMD_RUNS" = 1 ] && mkdir -p /run/systemd/system
mkdir -p /run/portsafe && : > /run/portsafe/leases
mount --bind "$VARLIB" /var/lib
PATH="$FAKEBIN:$PATH" sh "$@"
[ -e /run/portsafe ] && echo "run-dir: kept" >> "$LOG" || echo "run-dir: removed" >> "$LOG"
"""

FAKE_SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >> "$LOG"
"""


class MaintainerSandbox:
    def __init__(self, deb, tmp_path):
        self.control = tmp_path / "control"
        subprocess.run(["dpkg-deb", "-e", str(deb), str(self.control)], check=True, timeout=60)
        self.varlib = tmp_path / "varlib"
        self.varlib.mkdir()
        fakebin = tmp_path / "fakebin"
        fakebin.mkdir()
        (fakebin / "systemctl").write_text(FAKE_SYSTEMCTL)
        (fakebin / "systemctl").chmod(0o755)
        self.fakebin = fakebin
        self.log = tmp_path / "systemctl.log"

    def run(self, script, *args, systemd_runs=True):
        """The calls the maintainer script made, one string each."""
        self.log.write_text("")
        env = dict(os.environ, SYSTEMD_RUNS="1" if systemd_runs else "0", VARLIB=str(self.varlib),
                   FAKEBIN=str(self.fakebin), LOG=str(self.log))
        done = subprocess.run(["unshare", "-m", "sh", "-c", SANDBOX, "sandbox", str(self.control / script), *args],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{script} {args}: exit {done.returncode}: {done.stderr}"
        return self.log.read_text().splitlines()


@pytest.fixture
def sandbox(deb, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the maintainer scripts' sandbox needs root (a private mount namespace)")
    return MaintainerSandbox(deb, tmp_path)


def test_maintainer_scripts_are_in_the_package_and_executable(sandbox):
    for script in ("postinst", "prerm", "postrm"):
        path = sandbox.control / script
        assert path.exists(), f"{script} missing from the package's control area"
        assert os.stat(path).st_mode & 0o777 == 0o755, oct(os.stat(path).st_mode)


def test_first_install_enables_and_starts_the_host_units(sandbox):
    calls = sandbox.run("postinst", "configure", "")
    assert "systemctl enable portsafe-host.socket portsafe-host.service" in calls, calls
    assert "systemctl start portsafe-host.socket portsafe-host.service" in calls, calls


def test_upgrade_keeps_the_admins_choice(sandbox):
    sandbox.run("postinst", "configure", "")
    # The admin turned the daemon off; every later configure (upgrade, rerun) leaves it so and
    # only restarts a daemon that runs, with the new binary.
    for _ in range(2):
        calls = sandbox.run("postinst", "configure", "0.1.0")
        assert not any(c.startswith(("systemctl enable", "systemctl start")) for c in calls), calls
        assert "systemctl try-restart portsafe-host.service" in calls, calls


def test_without_systemd_running_units_are_enabled_not_started(sandbox):
    calls = sandbox.run("postinst", "configure", "", systemd_runs=False)
    assert "systemctl enable portsafe-host.socket portsafe-host.service" in calls, calls
    assert not any(c.startswith(("systemctl start", "systemctl daemon-reload")) for c in calls), calls


def test_upgrade_leaves_units_and_registry_alone(sandbox):
    sandbox.run("postinst", "configure", "")
    assert sandbox.run("prerm", "upgrade", "0.2.0") == ["run-dir: kept"]
    assert sandbox.run("postrm", "upgrade", "0.2.0") == ["run-dir: kept"]


def test_removal_stops_disables_and_cleans_up(sandbox):
    sandbox.run("postinst", "configure", "")
    calls = sandbox.run("prerm", "remove")
    assert "systemctl stop portsafe-host.socket portsafe-host.service" in calls, calls
    assert "systemctl disable portsafe-host.socket portsafe-host.service" in calls, calls
    calls = sandbox.run("postrm", "remove")
    assert "run-dir: removed" in calls, calls
    # Installed again later, the units are enabled again (the removal forgot the first time).
    calls = sandbox.run("postinst", "configure", "")
    assert "systemctl enable portsafe-host.socket portsafe-host.service" in calls, calls
