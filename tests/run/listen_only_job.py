"""Issue 13's listen-only workload: WORKERS processes of one job, each ROUNDS times doing
bind 0 / close / bind that number again (no SO_REUSEADDR) / listen / close: a server started and
stopped without a client, which leaves every pick lingering for the job.

Usage: listen_only_job.py WORKERS ROUNDS
Prints one JSON line: {"failures": N, "errors": {errno name: count}, "ports": [every pick]}.
With `worker ROUNDS` as arguments it is one worker (what the job starts WORKERS of).
"""
import errno
import json
import socket
import subprocess
import sys


def one_round():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
    return port


def worker(rounds):
    failures, errors, ports = 0, {}, []
    for _ in range(rounds):
        try:
            ports.append(one_round())
        except OSError as e:
            failures += 1
            name = errno.errorcode.get(e.errno, str(e.errno))
            errors[name] = errors.get(name, 0) + 1
    print(json.dumps({"failures": failures, "errors": errors, "ports": ports}))


def job(workers, rounds):
    procs = [subprocess.Popen([sys.executable, __file__, "worker", str(rounds)], stdout=subprocess.PIPE, text=True)
             for _ in range(workers)]
    total = {"failures": 0, "errors": {}, "ports": []}
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=300)
            if proc.returncode != 0:
                sys.exit(f"a worker exited with {proc.returncode}")
            report = json.loads(out)
            total["failures"] += report["failures"]
            total["ports"] += report["ports"]
            for name, count in report["errors"].items():
                total["errors"][name] = total["errors"].get(name, 0) + count
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print(json.dumps(total))


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        worker(int(sys.argv[2]))
    else:
        job(int(sys.argv[1]), int(sys.argv[2]))
