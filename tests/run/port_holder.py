"""A server that picks a port (bind 0), serves one connection (so the port was really used), then
waits to be killed. With `linger` as argument it instead picks a port and closes it unused (the
number lingers for the job), then waits. Prints "PID PORT" once ready."""
import os
import socket
import sys
import time

if len(sys.argv) > 1 and sys.argv[1] == "linger":
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    print(os.getpid(), port, flush=True)
else:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    print(os.getpid(), server.getsockname()[1], flush=True)
    connection, _ = server.accept()
    connection.close()
    print("served", flush=True)
while True:
    time.sleep(60)
