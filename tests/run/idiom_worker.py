"""The pick-a-port idiom that makes parallel test suites flaky: bind port 0, read the number,
close, pause, then bind that number for real (no SO_REUSEADDR), serve a moment, close.
Used by test_wrap_ctest.py and test_wrap_pytest_xdist.py; prints and returns how often it failed."""
import socket
import sys
import time

ITERATIONS = 20
GAP = 0.01     # between close and re-bind: where another process can take the port
SERVE = 0.01   # the "server" holds the port a moment, as a real one would


def pick_and_rebind_once():
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        time.sleep(GAP)
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
            server.listen()
            time.sleep(SERVE)
        return True
    except OSError:
        return False


def failures(iterations=ITERATIONS):
    return sum(0 if pick_and_rebind_once() else 1 for _ in range(iterations))


if __name__ == "__main__":
    n = failures()
    print(f"idiom failures: {n}")
    sys.exit(1 if n else 0)
