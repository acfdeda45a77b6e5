#!/usr/bin/env python3
"""Issue 13's scale run: JOBS portsafe-run jobs at once, each holding 8 ports (--port p0..p7)
and making PICKS picks (bind 0 / close / re-bind / listen / close) once every job holds its
ports, with the default range and a private runtime root. Reports collisions (failed re-binds
or binds of held ports), fallbacks, picks outside the range, the wall time, and the supervisor's
CPU time and memory (peak RSS) over the run.

  benchmarks/pressure/scale_run.py BIN_DIR [--jobs 256] [--picks 100]
BIN_DIR: a build tree's bin (scale_worker beside portsafe-run, portsafe, portsafed).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PORTS = 8


def supervisor_pid(root):
    try:
        with open(os.path.join(root, "portsafed.lock")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def table_counters(root, bin_dir):
    """The counter lines `portsafe status` prints for the root's table."""
    out = subprocess.run([os.path.join(bin_dir, "portsafe"), "status"], env=os.environ, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1:]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bin")
    parser.add_argument("--jobs", type=int, default=256)
    parser.add_argument("--picks", type=int, default=100)
    args = parser.parse_args()
    bin_dir = os.path.abspath(args.bin)
    root = tempfile.mkdtemp(prefix="portsafe-scale-")
    os.chmod(root, 0o700)
    for name in ("PORTSAFE_RANGE", "PORTSAFE_JOB", "PORTSAFE_JOB_ID", "LD_PRELOAD"):
        os.environ.pop(name, None)
    os.environ["PORTSAFE_RUNTIME_DIR"] = root
    go = os.path.join(root, "go")
    jobs = []
    try:
        began = time.monotonic()
        for i in range(args.jobs):
            ports = [a for p in range(PORTS) for a in ("--port", f"p{p}")]
            jobs.append(subprocess.Popen(
                [os.path.join(bin_dir, "portsafe-run"), "--print", "--job", f"scale-{i}"] + ports +
                ["--", os.path.join(bin_dir, "scale_worker"), go, str(args.picks)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True))
        held = set()
        for job in jobs:  # every job prints NAME=PORT for each held port once it holds them all
            got = 0
            while got < PORTS:
                line = job.stderr.readline()
                if not line:
                    sys.exit(f"a job ended before holding its ports: {job.wait()}")
                if "=" in line and not line.startswith("portsafe-run:"):
                    held.add(int(line.split("=")[1].split("/")[0]))
                    got += 1
        all_held = time.monotonic()
        pid = supervisor_pid(root)
        cpu_before = cpu_seconds(pid)
        open(go, "w").close()
        collisions = held_failures = picks = 0
        low, high = 65536, 0
        for job in jobs:
            out, err = job.communicate(timeout=600)
            if job.returncode != 0:
                sys.exit(f"a job failed ({job.returncode}): {err}")
            for line in err.splitlines():
                if line.startswith("scale_worker:"):
                    print(f"  {line}")
            f = out.split()
            collisions += int(f[1]); held_failures += int(f[3]); picks += int(f[5])
            low = min(low, int(f[7])); high = max(high, int(f[9]))
        ended = time.monotonic()
        cpu_total = cpu_seconds(pid)
        cpu_run = cpu_total - cpu_before
        peak_rss, rss = memory_kib(pid, "VmHWM"), memory_kib(pid, "VmRSS")
        status = table_counters(root, bin_dir)
        print(f"scale run: {args.jobs} jobs at once, {PORTS} held ports each, {args.picks} picks each, default range")
        print(f"  held ports, distinct across jobs     {len(held)} of {args.jobs * PORTS}")
        print(f"  collisions (failed binds)            {collisions + held_failures} "
              f"({collisions} re-binds of picks, {held_failures} binds of held ports)")
        print(f"  picks                                {picks}, ports {low}-{high}")
        print(f"  launch until every port was held     {all_held - began:.2f} s")
        print(f"  picks phase (go until every job ended) {ended - all_held:.2f} s")
        print(f"  portsafed CPU                        {cpu_total:.2f} s in all ({cpu_run:.2f} s in the picks phase)")
        print(f"  portsafed memory                     peak RSS {peak_rss / 1024:.1f} MiB (at the end {rss / 1024:.1f} MiB)")
        for line in status:
            print(f"  {line}")
        ok = collisions + held_failures == 0 and len(held) == args.jobs * PORTS
        return 0 if ok else 1
    finally:
        for job in jobs:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
                job.wait()
        pid = supervisor_pid(root)
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            time.sleep(0.3)
        subprocess.run([os.path.join(bin_dir, "portsafe"), "gc", "--reset"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
