"""A test job's port picking (run under portsafe-run, the shim preloaded): COUNT picks with the
bind-0 / read the number idiom, in batches taken in step with the peer jobs (a barrier of files in
DIR per batch, so the accounts' picks interleave even on one core). Every KEEP_EVERY-th socket
stays bound until the end, the others are closed at once and linger for the job; every
UDP_EVERY-th pick is UDP. Writes {"tcp": [...], "udp": [...], "errors": [...]} to DIR/TAG.json,
then lives until DIR/done exists, so every claim is alive while the test compares."""
import argparse
import json
import os
import socket
import sys
import time

BARRIER_TIMEOUT = 120.0
DONE_TIMEOUT = 600.0


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            print(f"picker: gave up waiting for {what} after {timeout:.0f} s", file=sys.stderr)
            sys.exit(3)
        time.sleep(0.002)


def mark(directory, name):
    path = os.path.join(directory, name)
    with open(path + ".tmp", "w"):
        pass
    os.rename(path + ".tmp", path)


def pick(kind, kept):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    except OSError:
        s.close()
        raise
    if kept:
        return port, s
    s.close()
    return port, None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tag", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--peers", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--keep-every", type=int, default=10)
    p.add_argument("--udp-every", type=int, default=0)
    a = p.parse_args()
    peers = a.peers.split(",")
    ports = {"tcp": [], "udp": []}
    errors = []
    kept = []
    for i in range(a.count):
        udp = a.udp_every and i % a.udp_every == a.udp_every - 1
        keep = a.keep_every and i % a.keep_every == 0
        proto = "udp" if udp else "tcp"
        try:
            port, s = pick(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM, keep)
        except OSError as e:
            errors.append(f"{proto} pick {i}: {e}")
            continue
        ports[proto].append(port)
        if s is not None:
            kept.append(s)
        if (i + 1) % a.batch == 0 or i + 1 == a.count:
            step = (i + 1 + a.batch - 1) // a.batch
            mark(a.dir, f"{a.tag}.step{step}")
            wait_until(lambda: all(os.path.exists(os.path.join(a.dir, f"{peer}.step{step}")) for peer in peers),
                       BARRIER_TIMEOUT, f"the peers' batch {step}")
    result = os.path.join(a.dir, f"{a.tag}.json")
    with open(result + ".tmp", "w") as f:
        json.dump(dict(ports, errors=errors, kept=len(kept)), f)
    os.rename(result + ".tmp", result)
    wait_until(lambda: os.path.exists(os.path.join(a.dir, "done")), DONE_TIMEOUT, "the test's 'done'")
    for s in kept:
        s.close()


if __name__ == "__main__":
    main()
