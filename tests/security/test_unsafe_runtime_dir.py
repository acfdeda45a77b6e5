"""A runtime root that is not private — another owner, group/world-accessible, a symlink, not
absolute — is refused by every program with one line naming the fix and the documented exit code
(portsafe-run 125, portsafe 1, portsafed 1), and nothing is created in or through it."""
import os

import pytest

from securitylib import assert_one_line

PROGRAMS = {
    "portsafe-run": (["--", "true"], 125),
    "portsafe": (["status"], 1),
    "portsafed": (["--foreground", "--idle-timeout", "1"], 1),
}


def make_root(ps, kind, intruder):
    """A runtime root of the given flaw; returns (path, the words the message must contain)."""
    path = str(ps.tmp / f"root-{kind}")
    if kind == "symlink":
        target = ps.tmp / "symlink-target"
        target.mkdir(mode=0o700)
        os.symlink(target, path)
        return path, ["symlink"]
    if kind == "relative":
        return "relative/root", ["absolute"]
    os.mkdir(path)
    if kind == "other-owner":
        os.chmod(path, 0o700)
        os.chown(path, intruder.pw_uid, intruder.pw_gid)
        return path, [f"uid {intruder.pw_uid}"]
    mode = {"group-readable": 0o750, "world-readable": 0o705, "world-writable": 0o777}[kind]
    os.chmod(path, mode)
    return path, [f"chmod 700 {path}"]


KINDS = ["other-owner", "group-readable", "world-readable", "world-writable", "symlink", "relative"]


@pytest.mark.parametrize("program", sorted(PROGRAMS))
@pytest.mark.parametrize("kind", KINDS)
def test_unsafe_root_refused(ps, intruder, program, kind):
    root, words = make_root(ps, kind, intruder)
    args, code = PROGRAMS[program]
    env = dict(ps.env, PORTSAFE_RUNTIME_DIR=root)
    out = ps.run([ps.program(program)] + args, env=env, timeout=30, cwd=str(ps.tmp))
    if program == "portsafe" and kind == "other-owner" and os.geteuid() == 0:
        # Root may *look at* a user's private root on purpose (sudo portsafe status): it only
        # reads, and creates nothing (test_root_inspects_user_table.py covers the table).
        assert out.returncode == 0 and out.stderr == "", out.stderr
        assert os.listdir(root) == []
        return
    assert_one_line(out, program, "PORTSAFE_RUNTIME_DIR", *words)
    assert out.returncode == code, out.stderr
    if kind == "symlink":
        assert os.listdir(ps.tmp / "symlink-target") == []
    elif kind != "relative":
        assert os.listdir(root) == []
    else:
        assert not os.path.exists(ps.tmp / "relative")


def test_portsafed_option_root_refused(ps):
    root = ps.tmp / "open"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    out = ps.run([ps.program("portsafed"), "--runtime-dir", str(root), "--foreground"], timeout=30)
    assert_one_line(out, "portsafed", f"chmod 700 {root}")
    assert out.returncode == 1


def test_default_root_through_symlink_refused(ps):
    # Without PORTSAFE_RUNTIME_DIR the root is $XDG_RUNTIME_DIR/portsafe: a planted symlink there
    # must not be followed.
    xdg = ps.tmp / "xdg"
    xdg.mkdir(mode=0o700)
    target = ps.tmp / "elsewhere"
    target.mkdir(mode=0o700)
    os.symlink(target, xdg / "portsafe")
    env = {k: v for k, v in ps.env.items() if k != "PORTSAFE_RUNTIME_DIR"}
    env["XDG_RUNTIME_DIR"] = str(xdg)
    out = ps.run([ps.program("portsafe-run"), "--", "true"], env=env, timeout=30)
    assert_one_line(out, "portsafe-run", "symlink", str(xdg / "portsafe"))
    assert out.returncode == 125
    assert os.listdir(target) == []
