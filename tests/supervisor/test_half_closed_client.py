"""A client that floods requests, half-closes (shutdown(SHUT_WR)) and never reads its replies
costs portsafed no CPU: once the peer is gone the backlogged connection is watched for
writability only (never the level-triggered EPOLLRDHUP that would wake the loop at once, forever),
the supervisor keeps serving everyone else, and the connection is dropped once its replies
cannot be delivered within a bound."""
import select
import socket

from portsafe_testlib import wait_for
from supervisor_wire import PING, Client, frame, start_supervisor

# Far more replies than a Unix socket's send buffer takes, yet under the supervisor's 1 MiB
# per-connection output limit (so it keeps reading them all and sees the half-close).
FLOOD = 20000


def cpu_ticks(pid):
    """utime + stime of pid, in clock ticks (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        after_name = f.read().rsplit(")", 1)[1].split()
    return int(after_name[11]) + int(after_name[12])


def flood_and_half_close(socket_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(socket_path)
    sock.sendall(frame(PING) * FLOOD)
    sock.shutdown(socket.SHUT_WR)
    return sock


def test_half_closed_reader_costs_no_cpu_and_others_are_served(ps):
    socket_path = start_supervisor(ps, "--idle-timeout", "0")
    pid = ps.supervisor_pid()
    stalled = flood_and_half_close(socket_path)
    other = Client(socket_path)
    # A few round trips: the supervisor has been through its loop since the half-close.
    for _ in range(5):
        assert other.ping() == pid
    before = cpu_ticks(pid)
    served = 0
    for _ in range(10):  # ~1 s of other clients' requests
        assert other.ping() == pid
        served += 1
        select.select([], [], [], 0.1)
    spent = cpu_ticks(pid) - before
    # A busy loop spends ~100 ticks per second; ten pings cost next to nothing.
    assert spent <= 15, f"portsafed used {spent} clock ticks of CPU in ~1 s with a half-closed client"
    assert served == 10
    stalled.close()


def test_undeliverable_replies_get_the_connection_dropped(ps):
    socket_path = start_supervisor(ps, "--idle-timeout", "0")
    pid = ps.supervisor_pid()
    stalled = flood_and_half_close(socket_path)
    poller = select.poll()
    poller.register(stalled, select.POLLHUP)
    # The supervisor closes its end once nothing has been delivered for its bound (seconds).
    assert wait_for(lambda: poller.poll(0), timeout=30, interval=0.1), "the stalled connection was never dropped"
    assert Client(socket_path).ping() == pid
    stalled.close()
