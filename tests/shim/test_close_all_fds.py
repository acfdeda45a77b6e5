"""A program that closes every descriptor at start still gets its port from the range: the shim
keeps no descriptor of its own after start-up (its table mapping needs none)."""
import os
import re

import shimlib

RANGE = (24600, 24615)


def test_program_closing_all_descriptors_still_coordinated(ps):
    ps.set_range(*RANGE)
    program = os.path.join(os.environ["PORTSAFE_BUILD_DIR"], "bin", "shim_close_all_fds_program")
    result = ps.run([program], env=ps.preload_env(), pass_fds=())
    assert result.returncode == 0, result.stderr
    assert re.search(r"^open-before 0$", result.stdout, re.M), "the shim left a descriptor open: " + result.stdout
    port = int(re.search(r"^port (\d+)$", result.stdout, re.M).group(1))
    assert shimlib.in_range(port, RANGE), result.stdout
    # Bound and listened on, never served: released by its close into the job's linger (a claim
    # the shim had lost track of would still read "bound").
    assert shimlib.Table(ps.runtime_dir).state(port) == "linger", "listened and closed: released"
