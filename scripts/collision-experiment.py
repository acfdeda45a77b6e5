#!/usr/bin/env python3
"""The collision experiment: N parallel workers using the pick-a-port idiom
(scripts/pick_a_port_worker.py), run

  bare        the kernel picks (bind 0) — the idiom as written in countless test suites
  portpicker  portpicker.pick_unused_port() with Debian's portserver managing the pool
  portsafe    each worker wrapped in its own `portsafe-run` (an unmodified program)

for several parallelisms and pool sizes. Each configuration runs in a fresh private network
namespace whose ephemeral range (bare), portserver pool (portpicker) and PORTSAFE_RANGE
(portsafe) all have the same size R. Reports binds, failures (EADDRINUSE), fallbacks (portsafe's
kernel fallbacks on a full range) and ports per second, as CSV and as a table.

With --chaos, the portsafe runs are repeated under SIGKILL storms (wrapped workers, portsafe-run
launchers and portsafed itself); afterwards it checks that no port was held by two live jobs at
once, that `portsafe gc` leaves no stale entry, and that nothing hung.

Needs root (unshare -n, sysctl). Usage:
  scripts/collision-experiment.py --prefix build/stage [--parallelism 8,16,32,64,128]
      [--range-sizes 64,512] [--iterations 10] [--csv out.csv] [--chaos]
"""
import argparse
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "pick_a_port_worker.py")
PYTHON = "/usr/bin/python3"
EPHEMERAL_LOW = 40000
POOL_LOW = 20000
RUN_TIMEOUT = 300


def parse_worker_output(text):
    totals = {"ok": 0, "failed": 0}
    for line in text.splitlines():
        for item in line.split():
            key, _, value = item.partition("=")
            if key in totals:
                totals[key] += int(value)
    return totals


def table_counters(prefix, env):
    """The table's counters, from the last line of `portsafe status`
    ("... picks N, fallbacks N, full-range events N, reaped N")."""
    out = subprocess.run([os.path.join(prefix, "bin", "portsafe"), "status"], env=env,
                         capture_output=True, text=True, timeout=30)
    counters = {}
    for name, value in re.findall(r"(picks|fallbacks|full-range events|reaped) (\d+)", out.stdout):
        counters[name] = int(value)
    return counters


def run_configuration(mode, parallelism, pool, iterations, prefix, chaos):
    """Runs inside a private netns (see main). Returns a result dict."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["sysctl", "-qw", f"net.ipv4.ip_local_port_range={EPHEMERAL_LOW} {EPHEMERAL_LOW + pool - 1}"],
                   check=True)
    runtime = tempfile.mkdtemp(prefix="portsafe-exp-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTSAFE_") and k != "LD_PRELOAD"}
    env["PORTSAFE_RUNTIME_DIR"] = runtime
    env["PORTSAFE_RANGE"] = f"{POOL_LOW}-{POOL_LOW + pool - 1}"
    portserver = None
    worker = [PYTHON, WORKER, "--iterations", str(iterations)]
    if mode == "portpicker":
        env["PORTSERVER_ADDRESS"] = "@portsafe-experiment"
        portserver = subprocess.Popen(["/usr/bin/portserver", "--portserver_address", "@portsafe-experiment",
                                       "--portserver_static_pool", f"{POOL_LOW}-{POOL_LOW + pool - 1}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        worker += ["--picker", "portpicker"]
    wrapper = [os.path.join(prefix, "bin", "portsafe-run"), "--quiet", "--"] if mode == "portsafe" else []
    if mode == "portsafe":
        # Start the supervisor once, so the measurement is of the warm path.
        subprocess.run(wrapper + ["/bin/true"], env=env, timeout=30, check=True)

    if chaos:
        worker[worker.index("--iterations") + 1] = str(max(iterations * 20, 200))  # outlast the storm
    procs = []
    start = time.monotonic()
    for i in range(parallelism):
        procs.append(subprocess.Popen(wrapper + worker + ["--seed", str(i)], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True, start_new_session=True))
    storm = ChaosStorm(procs, runtime, prefix, env) if chaos else None
    if storm:
        storm.start()
    outputs, hung = [], 0
    for p in procs:
        try:
            out, _ = p.communicate(timeout=RUN_TIMEOUT)
            outputs.append(out)
        except subprocess.TimeoutExpired:
            hung += 1
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
    elapsed = time.monotonic() - start
    if storm:
        storm.stop()
    totals = parse_worker_output("".join(outputs))
    result = {"mode": mode, "parallelism": parallelism, "pool": pool, "binds": totals["ok"] + totals["failed"],
              "failures": totals["failed"], "fallbacks": 0, "ports_per_second": round((totals["ok"] + totals["failed"]) / elapsed, 1),
              "hung": hung}
    if mode == "portsafe":
        result["fallbacks"] = int(table_counters(prefix, env).get("fallbacks", 0))
    if storm:
        result.update(storm.verdict(env))
    if portserver:
        portserver.kill()
        portserver.wait()
    lock = os.path.join(runtime, "portsafed.lock")
    try:
        with open(lock) as f:
            os.kill(int(f.read().strip()), signal.SIGKILL)
    except (OSError, ValueError):
        pass
    return result


class ChaosStorm:
    """SIGKILLs wrapped workers, portsafe-run launchers and portsafed at random for a few seconds,
    while sampling `portsafe status --json` for a port held by two live jobs at once."""

    def __init__(self, procs, runtime, prefix, env):
        self.procs, self.runtime, self.prefix, self.env = procs, runtime, prefix, env
        self.done = threading.Event()
        self.kills = {"worker": 0, "launcher": 0, "supervisor": 0}
        self.double_holds = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.done.set()
        self.thread.join(timeout=30)

    def children_of(self, pid):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def run(self):
        rng = random.Random(7)
        end = time.monotonic() + 5
        while not self.done.is_set() and time.monotonic() < end:
            time.sleep(0.02)
            target = rng.choice(("worker", "launcher", "supervisor"))
            alive = [p for p in self.procs if p.poll() is None]
            if not alive:
                return
            try:
                if target == "launcher":
                    os.kill(rng.choice(alive).pid, signal.SIGKILL)
                elif target == "worker":
                    kids = self.children_of(rng.choice(alive).pid)
                    if kids:
                        os.kill(kids[0], signal.SIGKILL)
                else:
                    with open(os.path.join(self.runtime, "portsafed.lock")) as f:
                        os.kill(int(f.read().strip()), signal.SIGKILL)
                self.kills[target] += 1
            except (OSError, ValueError):
                pass
            self.sample_double_holds()

    def sample_double_holds(self):
        out = subprocess.run([os.path.join(self.prefix, "bin", "portsafe"), "status", "--json"], env=self.env,
                             capture_output=True, text=True, timeout=30)
        try:
            doc = json.loads(out.stdout)
        except json.JSONDecodeError:
            return
        entries = doc.get("ports", []) if isinstance(doc, dict) else doc
        seen = {}
        for e in entries:
            key = (e.get("port"), e.get("proto"))
            if key in seen and seen[key] != e.get("job"):
                self.double_holds += 1
            seen[key] = e.get("job")

    def verdict(self, env):
        gc = subprocess.run([os.path.join(self.prefix, "bin", "portsafe"), "gc"], env=env, capture_output=True,
                            text=True, timeout=30)
        out = subprocess.run([os.path.join(self.prefix, "bin", "portsafe"), "status", "--json"], env=env,
                             capture_output=True, text=True, timeout=30)
        try:
            doc = json.loads(out.stdout)
            entries = doc.get("ports", []) if isinstance(doc, dict) else doc
        except json.JSONDecodeError:
            entries = ["unreadable status"]
        return {"kills": sum(self.kills.values()), "kills_detail": dict(self.kills),
                "double_holds": self.double_holds, "stale_after_gc": len(entries), "gc_exit": gc.returncode}


def main():
    parser = argparse.ArgumentParser(description="portsafe collision experiment")
    parser.add_argument("--prefix", default=os.path.join(HERE, "..", "build", "stage"))
    parser.add_argument("--parallelism", default="8,16,32,64,128")
    parser.add_argument("--range-sizes", default="64,512")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--modes", default="bare,portpicker,portsafe")
    parser.add_argument("--csv")
    parser.add_argument("--chaos", action="store_true", help="also run portsafe under SIGKILL storms")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: mode,parallelism,pool,chaos
    args = parser.parse_args()
    prefix = os.path.abspath(args.prefix)

    if args.one:
        mode, parallelism, pool, chaos = args.one.split(",")
        print(json.dumps(run_configuration(mode, int(parallelism), int(pool), args.iterations, prefix, chaos == "1")))
        return 0

    if os.geteuid() != 0:
        print("collision-experiment: needs root for private network namespaces (unshare -n); run with sudo",
              file=sys.stderr)
        return 2
    results = []
    plan = [(m, p, r, "0") for r in args.range_sizes.split(",") for p in args.parallelism.split(",")
            for m in args.modes.split(",")]
    if args.chaos:
        plan += [("portsafe", p, args.range_sizes.split(",")[-1], "1") for p in args.parallelism.split(",")]
    print(f"{'mode':<11} {'chaos':>5} {'workers':>7} {'pool':>5} {'binds':>6} {'failures':>8} {'fallbacks':>9} {'ports/s':>8}")
    for mode, parallelism, pool, chaos in plan:
        one = subprocess.run(["unshare", "-n", "--", PYTHON, os.path.abspath(__file__), "--prefix", prefix,
                              "--iterations", str(args.iterations), "--one", f"{mode},{parallelism},{pool},{chaos}"],
                             capture_output=True, text=True, timeout=RUN_TIMEOUT + 120)
        if one.returncode != 0:
            print(f"collision-experiment: {mode} x{parallelism} failed:\n{one.stderr}", file=sys.stderr)
            return 1
        result = json.loads(one.stdout.strip().splitlines()[-1])
        result["chaos"] = chaos == "1"
        results.append(result)
        extra = ""
        if result["chaos"]:
            extra = (f"  kills={result['kills']} double_holds={result['double_holds']} "
                     f"stale_after_gc={result['stale_after_gc']} hung={result['hung']}")
        print(f"{mode:<11} {'yes' if result['chaos'] else 'no':>5} {parallelism:>7} {pool:>5} {result['binds']:>6} "
              f"{result['failures']:>8} {result['fallbacks']:>9} {result['ports_per_second']:>8}{extra}", flush=True)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            fields = ["mode", "chaos", "parallelism", "pool", "binds", "failures", "fallbacks", "ports_per_second",
                      "hung", "kills", "double_holds", "stale_after_gc"]
            w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            w.writeheader()
            w.writerows(results)
    broken = [r for r in results if r["chaos"] and (r["double_holds"] or r["stale_after_gc"] or r["hung"])]
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
