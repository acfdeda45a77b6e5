"""Helpers for the shim's black-box tests: ranges, job leaders, reading the port table."""
import contextlib
import mmap
import os
import struct
import subprocess

import portsafe_testlib

PYTHON = portsafe_testlib.PYTHON

# Table layout (include/portsafe/port_table.hpp): a 512-byte header, then 128-byte slots, tcp
# then udp. The first 64-bit word of a slot holds its state in the top 3 bits.
HEADER_BYTES = 512
SLOT_BYTES = 128
STATES = ["free", "busy", "bound", "linger", "held", "excluded"]
MAGIC = 0x4546415354524F50


def in_range(port, range_):
    return range_[0] <= port <= range_[1]


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


class Table:
    """Read-only view of a runtime root's table (mapped from /dev/shm)."""

    def __init__(self, runtime_dir):
        path = portsafe_testlib.table_shm_path(runtime_dir)
        with open(path, "rb") as f:
            self.data = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        magic, = struct.unpack_from("<Q", self.data, 0)
        assert magic == MAGIC, f"{path} is not a portsafe table"
        self.low, self.high = struct.unpack_from("<HH", self.data, 24)

    def counters(self):
        """The header's counters (after the checksummed part; offsets asserted in port_table.hpp)."""
        picks, fallbacks, full, reaped = struct.unpack_from("<QQQQ", self.data, 160)
        given_way, young, claims, peak, needed = struct.unpack_from("<QQQQQ", self.data, 208)
        return {"picks": picks, "fallbacks": fallbacks, "full_range_events": full, "reaped": reaped,
                "lingers_given_way": given_way, "young_lingers_given_way": young, "claims_made": claims,
                "peak_in_use": peak, "ports_needed": needed}

    def state(self, port, proto="tcp"):
        size = self.high - self.low + 1
        index = (0 if proto == "tcp" else size) + port - self.low
        word, = struct.unpack_from("<Q", self.data, HEADER_BYTES + index * SLOT_BYTES)
        return STATES[word >> 61]


def table_exists(runtime_dir):
    return os.path.exists(portsafe_testlib.table_shm_path(runtime_dir))
