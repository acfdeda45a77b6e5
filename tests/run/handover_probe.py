"""Picks a port (bind 0, read the number, close), waits DELAY seconds as a test handing the number
to a server does, then binds that number (no SO_REUSEADDR) and listens, TIMES times.
Usage: handover_probe.py TIMES DELAY. Prints one JSON line: {"ports": [...], "failures": [...]}."""
import json
import socket
import sys
import time


def main():
    times, delay = int(sys.argv[1]), float(sys.argv[2])
    ports, failures = [], []
    for _ in range(times):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        time.sleep(delay)
        try:
            with socket.socket() as server:
                server.bind(("127.0.0.1", port))
                server.listen()
            ports.append(port)
        except OSError as e:
            failures.append(f"{port}: {e}")
    print(json.dumps({"ports": ports, "failures": failures}))


if __name__ == "__main__":
    main()
