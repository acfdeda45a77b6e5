"""Without CAP_BPF/CAP_NET_ADMIN: --virtual-mode bpf exits 125 with the reason and the fix; auto
falls back to the shim (PORTSAFE_VIRTUAL set for it) and says under -v, in one line, that static
binaries are not virtualized; in bpf mode PORTSAFE_VIRTUAL is never set (nothing is rewritten
twice)."""
import os
import shutil

import pytest

# Root without any capability (bounding set emptied, so exec gives none back).
NO_CAPS = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--"]


@pytest.fixture
def unprivileged():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to drop the capabilities")
    return NO_CAPS


def test_explicit_bpf_without_capabilities_exits_125(ps, unprivileged):
    marker = ps.tmp / "ran"
    out = ps.run(unprivileged + [ps.program("portsafe-run"), "--virtual-mode", "bpf", "--virtual", "8080", "--",
                                 "touch", str(marker)])
    assert out.returncode == 125, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "--virtual-mode bpf" in lines[0] and "CAP_BPF" in lines[0], out.stderr
    assert "--virtual-mode shim" in lines[0], "the line does not name the fix"
    assert not marker.exists()


def test_auto_without_capabilities_falls_back_to_the_shim(ps, unprivileged):
    out = ps.run(unprivileged + [ps.program("portsafe-run"), "-v", "--virtual", "8080", "--virtual", "53/udp", "--",
                                 "sh", "-c", "echo $PORTSAFE_VIRTUAL; echo $PORTSAFE_REAL_PORT_8080 $PORTSAFE_REAL_PORT_53"])
    assert out.returncode == 0, out.stderr
    mapping, reals = out.stdout.splitlines()
    tcp, udp = reals.split()
    assert mapping == f"8080/tcp={tcp},53/udp={udp}"
    said = [line for line in out.stderr.splitlines() if "static binaries" in line]
    assert len(said) == 1 and "not virtualized without root" in said[0], out.stderr


def test_bpf_mode_never_sets_portsafe_virtual(ps):
    if os.geteuid() != 0:
        pytest.skip("bpf mode needs root")
    env = dict(ps.env, PORTSAFE_VIRTUAL="9/tcp=9")  # as an outer shim-mode job would leave it
    for mode in ("bpf", "auto"):
        out = ps.run([ps.program("portsafe-run"), "--virtual-mode", mode, "--virtual", "8080", "--",
                      "sh", "-c", "echo ${PORTSAFE_VIRTUAL-unset}"], env=env)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "unset", f"{mode}: {out.stdout}"


def test_doctor_says_static_binaries_are_not_virtualized_without_capabilities(ps, unprivileged):
    out = ps.run(unprivileged + [ps.program("portsafe"), "doctor"])
    lines = [line for line in out.stdout.splitlines() + out.stderr.splitlines() if "virtual ports" in line]
    assert len(lines) == 1, out.stdout + out.stderr
    assert "shim only" in lines[0] and "not virtualized without root" in lines[0], lines[0]


def test_doctor_says_bpf_with_capabilities(ps):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    out = ps.run([ps.program("portsafe"), "doctor"])
    lines = [line for line in out.stdout.splitlines() + out.stderr.splitlines() if "virtual ports" in line]
    assert len(lines) == 1 and "virtual ports: bpf" in lines[0], out.stdout + out.stderr
