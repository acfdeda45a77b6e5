"""Nothing portsafe creates is group- or world-writable, even under umask 000: walk what a real
`portsafe-run --port a -- true` created (root directory, socket, lock, log, table)."""
import os
import stat

from portsafe_testlib import table_shm_path


def test_created_files_are_private(ps):
    root = ps.tmp / "fresh-root"  # portsafe creates it itself
    env = dict(ps.env, PORTSAFE_RUNTIME_DIR=str(root))
    out = ps.run([ps.program("portsafe-run"), "--port", "a", "--", "true"], env=env, timeout=60,
                 preexec_fn=lambda: os.umask(0))
    assert out.returncode == 0, out.stderr
    ps.runtime_dir = str(root)  # so cleanup stops this supervisor and removes its table

    created = {}
    for directory, dirs, files in os.walk(root):
        for name in [directory] + [os.path.join(directory, n) for n in dirs + files]:
            created[name] = os.lstat(name)
    table = table_shm_path(str(root))
    created[table] = os.lstat(table)

    names = {os.path.basename(p) for p in created}
    assert {"portsafed.sock", "portsafed.lock", "portsafed.log"} <= names, names
    for path, st in created.items():
        assert st.st_uid == os.geteuid(), path
        assert not stat.S_ISLNK(st.st_mode), path
        assert stat.S_IMODE(st.st_mode) & 0o022 == 0, f"{path} has mode {stat.S_IMODE(st.st_mode):o}"
    assert stat.S_IMODE(created[str(root)].st_mode) == 0o700
    assert stat.S_IMODE(created[table].st_mode) == 0o600
