#!/usr/bin/env python3
"""One test worker using the pick-a-port idiom, the way countless test suites do:

    s = socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    ... hand `port` to a server, which binds it (no SO_REUSEADDR), listens and serves the test

Between the close and the server's bind another process may take the port: the server then
fails with EADDRINUSE. Prints one line: "ok=N failed=M ports_per_second=R".

With --picker portpicker the number comes from portpicker.pick_unused_port() (which asks the
portserver named by PORTSERVER_ADDRESS) and is returned with portpicker.return_port() after use.

Usage: pick_a_port_worker.py [--iterations N] [--gap-ms MS] [--hold-ms MS] [--seed S]
                             [--picker kernel|portpicker]
"""
import argparse
import errno
import random
import socket
import struct
import sys
import time


def pick_port_with_kernel():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def serve_once(port, hold_s):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        server.bind(("127.0.0.1", port))
        server.listen(8)
        # The "test" runs against its server: one connection. The client resets at close, so no
        # TIME_WAIT is left to block a later bind of the port without SO_REUSEADDR.
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection, _ = server.accept()
            time.sleep(hold_s)
        connection.close()
        return True
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return False
        raise
    finally:
        server.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--gap-ms", type=float, default=2.0, help="time between pick and bind")
    parser.add_argument("--hold-ms", type=float, default=2.0, help="how long the server serves its one connection")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--picker", choices=("kernel", "portpicker"), default="kernel")
    args = parser.parse_args()
    pick_port, return_port = pick_port_with_kernel, lambda port: None
    if args.picker == "portpicker":
        import portpicker  # Debian's python3-portpicker

        pick_port, return_port = portpicker.pick_unused_port, portpicker.return_port
    rng = random.Random(args.seed)
    ok = failed = 0
    start = time.monotonic()
    for _ in range(args.iterations):
        port = pick_port()
        time.sleep(args.gap_ms / 1000.0 * rng.uniform(0.5, 1.5))
        if serve_once(port, args.hold_ms / 1000.0):
            ok += 1
        else:
            failed += 1
        return_port(port)
    elapsed = max(time.monotonic() - start, 1e-9)
    print(f"ok={ok} failed={failed} ports_per_second={args.iterations / elapsed:.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
