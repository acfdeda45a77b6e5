"""Helpers for the shim's black-box tests: ranges, job leaders, reading the port table."""
import contextlib
import os
import subprocess

import portsafe_testlib

PYTHON = portsafe_testlib.PYTHON

# The table reader is shared with the other black-box tests (tests/lib/portsafe_testlib.py).
from portsafe_testlib import HEADER_BYTES, MAGIC, SLOT_BYTES, STATES, Table, in_range  # noqa: F401


def process_identity(pid):
    """'PID.STARTTICKS' as PORTSAFE_JOB_ID wants it (field 22 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return f"{pid}.{fields[19]}"


@contextlib.contextmanager
def job_leader():
    """A live process that leads a job; yields its PORTSAFE_JOB_ID."""
    leader = subprocess.Popen(["sleep", "600"])
    try:
        yield process_identity(leader.pid)
    finally:
        leader.kill()
        leader.wait()


def table_exists(runtime_dir):
    return os.path.exists(portsafe_testlib.table_shm_path(runtime_dir))
