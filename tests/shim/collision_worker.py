"""One worker of the collision experiment (test_bind_collisions.py): the flaky idiom, repeated.

bind port 0, read the number, close, sleep a little, bind that number again WITHOUT SO_REUSEADDR,
listen, serve one connection, close. (A server that served someone frees its port; one that only
listened would leave it lingering for the job, and 120 rounds would fill the range.) Prints one JSON line: how many rounds failed, and every port it was given.
Usage: collision_worker.py ROUNDS SEED
"""
import json
import random
import socket
import struct
import sys
import time


def one_round(rng):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    time.sleep(rng.uniform(0.0005, 0.003))  # the gap: the number is "handed to a server"
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:
            # The client resets at close: no TIME_WAIT is left on either end to block the next
            # round's bind without SO_REUSEADDR (that would be the kernel's, not a stolen port).
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection, _ = server.accept()
            time.sleep(rng.uniform(0.0, 0.002))  # the server runs for a moment
        connection.close()
    return port


def main():
    rounds, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    failures, ports = 0, []
    for _ in range(rounds):
        try:
            ports.append(one_round(rng))
        except OSError:
            failures += 1
    print(json.dumps({"failures": failures, "ports": ports}))


if __name__ == "__main__":
    main()
