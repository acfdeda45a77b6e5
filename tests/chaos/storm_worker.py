"""The COMMAND of a storm job: takes its held port like a server, logs start and end (see
chaoslib.py). One write per line with O_APPEND, so lines from parallel workers never mix."""
import os
import socket
import sys
import time

log, seconds = sys.argv[1], float(sys.argv[2])
port = os.environ["PORTSAFE_PORT_P"]
job = os.environ["PORTSAFE_JOB_ID"]
fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def record(kind, extra=""):
    os.write(fd, f"{kind} {port} {job} {os.getpid()} {time.monotonic_ns()} {extra}\n".encode())


# A worker whose launcher was killed before it got going is outside any job (the job ended with
# its launcher): it must not take the port, which its job no longer holds.
if os.getppid() != int(job.split(".")[0]):
    record("orphan")
    sys.exit(4)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(port)))
    s.listen()
except OSError as e:
    record("conflict", e.errno)
    sys.exit(3)
record("start")
time.sleep(seconds)
record("end")
