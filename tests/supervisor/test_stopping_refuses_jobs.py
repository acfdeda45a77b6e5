"""While portsafed exits for idleness it still answers connections queued before its socket went
away, for a moment. A job opened (or a port reserved) then would lose its ports when the daemon
exits: it refuses both with the 'stopping' error, which sends the client to a fresh supervisor,
and still answers everything else."""
import os
import struct

from portsafe_testlib import wait_for
from supervisor_wire import ERROR, OPEN_JOB, RESERVE, TCP, Client, start_supervisor, text

STOPPING = 12  # wire::ErrorCode::stopping


def error_code(reply):
    kind, payload, _fds = reply
    assert kind == ERROR, (kind, payload)
    return struct.unpack_from("<H", payload)[0], payload


def test_an_exiting_supervisor_refuses_new_jobs_and_reservations(ps):
    socket_path = start_supervisor(ps, "--idle-timeout", "1")
    pid = ps.supervisor_pid()
    queued = Client(socket_path)  # connected before the idle exit; sends nothing yet
    # The idle exit begins by unlinking the socket; queued clients are served for a moment more.
    assert wait_for(lambda: not os.path.exists(socket_path), timeout=15), "the supervisor never began its idle exit"
    code, payload = error_code(queued.call(OPEN_JOB, text("late") + struct.pack("<Q", 0)))
    assert code == STOPPING, payload
    assert b"reconnect" in payload
    code, payload = error_code(queued.call(RESERVE, bytes([1]) + text("web") + bytes([TCP]) + struct.pack("<H", 0)))
    assert code == STOPPING, payload
    assert queued.ping() == pid
    queued.close()
