#!/usr/bin/env python3
"""Published-port performance through a real dockerd, four paths side by side, interleaved round
by round (every round measures each path once, in rotated order, so drift and load hit all alike):

  docker-proxy    dockerd 20.10 with Debian's /usr/sbin/docker-proxy (userland proxy)
  portsafe        dockerd with portsafe-docker-proxy serving a port held by `portsafe-run --port`
  no-proxy        dockerd with "userland-proxy": false (iptables DNAT on 127.0.0.1, route_localnet)
  direct          straight to the container's address (no published port at all)

Each dockerd runs in a network (and mount) namespace of its own (they all want docker0), started
by this script and stopped at its end with its containers. Clients connect to 127.0.0.1:PORT
inside that namespace (nsenter). Per path and round: one download of --bytes (the container's
echo_server sends them) and --roundtrips 64-byte echoes on one connection.

Usage (root): tests/lib/in_netns.sh python3 benchmarks/docker/dockerd_benchmark.py --prefix STAGE
Prints a markdown table (means over rounds, and the ratios to direct and to docker-proxy).
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "docker"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))

# The test library reads PORTSAFE_PREFIX when imported: set it from --prefix first.
for i, arg in enumerate(sys.argv):
    if arg == "--prefix" and i + 1 < len(sys.argv):
        os.environ["PORTSAFE_PREFIX"] = os.path.abspath(sys.argv[i + 1])

import dockerd_harness  # noqa: E402
import portsafe_testlib  # noqa: E402


class Netns:
    """A holder process in new network+mount namespaces, loopback up; others join with nsenter."""

    def __init__(self):
        self.proc = subprocess.Popen(["unshare", "-n", "-m", "--propagation", "private", "--", "sh", "-c",
                                      "ip link set lo up && echo up && exec sleep 100000"],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "up"

    def enter(self, args):
        return ["nsenter", "-t", str(self.proc.pid), "-n", "-m", "--", *args]

    def close(self):
        self.proc.kill()
        self.proc.wait()


class Path:
    def __init__(self, name, mode, base, env, prefix):
        self.name = name
        self.netns = Netns()
        self.engine = dockerd_harness.Dockerd(base, mode, env)
        self.job = None
        self.port = None
        self.prefix = prefix
        self.env = env

    def start(self, rootfs):
        original = self.engine.arguments
        self.engine.arguments = lambda: self.netns.enter(original())
        self.engine.start()
        self.engine.import_image(rootfs)
        if self.name == "portsafe":
            # The port is held by a job in dockerd's namespace, so the proxy serves the held socket.
            self.job = subprocess.Popen(self.netns.enter([os.path.join(self.prefix, "bin", "portsafe-run"), "--port",
                                                          "web", "--", "sh", "-c", "echo {{web}}; exec sleep 100000"]),
                                        env=self.env, stdout=subprocess.PIPE, text=True)
            self.port = int(self.job.stdout.readline())
        else:
            self.port = 18080
        self.engine.docker("run", "-d", "--name", "bench", "-p", f"127.0.0.1:{self.port}:80", dockerd_harness.IMAGE)
        self.container_ip = dockerd_harness.container_address(self.engine, "bench")

    def measure(self, client, host, port, size, trips):
        deadline = time.monotonic() + 30
        while True:
            r = subprocess.run(self.netns.enter([client, host, str(port), str(size), str(trips)]),
                               capture_output=True, text=True, timeout=300)
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)  # the published port may not serve yet
        assert r.returncode == 0, r.stderr
        return {k: float(v) for k, v in (item.split("=") for item in r.stdout.split())}

    def stop(self):
        if self.job:
            self.job.kill()
            self.job.wait()
        self.engine.stop()
        self.netns.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True, help="portsafe install prefix (bin/portsafe-docker-proxy)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bytes", type=int, default=200 * 1000 * 1000)
    parser.add_argument("--roundtrips", type=int, default=5000)
    args = parser.parse_args()
    args.prefix = os.path.abspath(args.prefix)

    base = tempfile.mkdtemp(prefix="dockerd-bench-", dir="/tmp")
    client = os.path.join(base, "bench_client")
    subprocess.run(["gcc", "-O2", "-o", client, os.path.join(HERE, "bench_client.c")], check=True)
    rootfs = os.path.join(base, "rootfs")
    dockerd_harness.build_rootfs(rootfs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTSAFE_") or k == "PORTSAFE_PREFIX"}
    env["PORTSAFE_RUNTIME_DIR"] = os.path.join(base, "runtime")
    os.makedirs(env["PORTSAFE_RUNTIME_DIR"], mode=0o700)
    modes = {"docker-proxy": "debian", "portsafe": "portsafe", "no-proxy": "noproxy"}
    paths = []
    try:
        for name, mode in modes.items():
            os.makedirs(os.path.join(base, name))
            path = Path(name, mode, os.path.join(base, name), env, args.prefix)
            paths.append(path)
            path.start(rootfs)
        names = list(modes) + ["direct"]
        results = {name: [] for name in names}
        for round_ in range(args.rounds):
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for name in order:
                if name == "direct":
                    path = paths[1]
                    host, port = path.container_ip, 80
                else:
                    path = paths[list(modes).index(name)]
                    host, port = "127.0.0.1", path.port
                results[name].append(path.measure(client, host, port, args.bytes, args.roundtrips))
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        for path in paths:
            path.stop()
        supervisor = portsafe_testlib.supervisor_pid_of(env["PORTSAFE_RUNTIME_DIR"])
        if supervisor:
            os.kill(supervisor, signal.SIGTERM)
        shutil.rmtree(base, ignore_errors=True)

    def mean(name, key):
        return statistics.mean(r[key] for r in results[name])

    print(f"{args.rounds} rounds, interleaved; download {args.bytes / 1e6:.0f} MB, {args.roundtrips} round trips of 64 bytes")
    print()
    print("| path | throughput MB/s (mean) | min-max | 64-byte round trip µs (mean of medians) | vs direct (throughput) | vs docker-proxy (throughput) | vs docker-proxy (round trip) |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        tp = [r["throughput_MBps"] for r in results[name]]
        rtt = mean(name, "rtt_us_median")
        print(f"| {name} | {statistics.mean(tp):.0f} | {min(tp):.0f}-{max(tp):.0f} | {rtt:.1f} | "
              f"{statistics.mean(tp) / mean('direct', 'throughput_MBps'):.2f} | "
              f"{statistics.mean(tp) / mean('docker-proxy', 'throughput_MBps'):.2f} | "
              f"{rtt / mean('docker-proxy', 'rtt_us_median'):.2f} |")


if __name__ == "__main__":
    main()
