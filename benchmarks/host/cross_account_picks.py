#!/usr/bin/env python3
"""Issue 16's experiment: do two accounts' port-0 picks share ports?

A root job picks N ports with bind(port 0) + close (each number lingers for the job, as a number
handed to a server does) while a job of a throwaway account picks N at the same time. Prints how
many of the second job's ports the first job also picked, without and with the host daemon
(`portsafed --host`). Needs root (makes the user); runs in a network namespace of its own.

    sudo python3 benchmarks/host/cross_account_picks.py --build build [--picks 5000] [--runs 3]
"""
import argparse
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

PICKER = r"""
import socket, sys
n = int(sys.argv[1])
ports = []
for _ in range(n):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    ports.append(s.getsockname()[1])
    s.close()
print(" ".join(map(str, ports)))
"""


def table_name(root):
    """The shared-memory name portsafe derives from a runtime root (core/runtime_root.cpp)."""
    value = 0xcbf29ce484222325
    for byte in root.encode():
        value = ((value ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"portsafe-{value:016x}"


def private_dir(owner_uid, owner_gid):
    path = tempfile.mkdtemp(prefix="ps-x-")
    os.chown(path, owner_uid, owner_gid)
    os.chmod(path, 0o700)
    return path


def run_pair(build, picks, host_dir, user):
    shim = os.path.join(build, "lib", "libportsafe.so")
    roots = [private_dir(0, 0), private_dir(user.pw_uid, user.pw_gid)]
    procs = []
    for index, root in enumerate(roots):
        env = dict(os.environ, LD_PRELOAD=shim, PORTSAFE_RUNTIME_DIR=root, PORTSAFE_HOST_DIR=host_dir,
                   PORTSAFE_LOG="warn", HOME="/")
        cmd = [sys.executable, "-c", PICKER, str(picks)]
        if index == 1:
            cmd = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"] + cmd
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=600)
            if proc.returncode != 0:
                raise RuntimeError(f"picker failed: {err}")
            outs.append([int(p) for p in out.split()])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)
            # Only this run's tables: /dev/shm is shared with everything else on the host.
            try:
                os.unlink(os.path.join("/dev/shm", table_name(root)))
            except FileNotFoundError:
                pass
    return outs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--picks", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--daemon-log", default="", help="the host daemon's log (info level) goes here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the experiment makes a throwaway user and a host daemon")
    if not os.environ.get("PS_X_IN_NETNS"):
        os.environ["PS_X_IN_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "-n", "--", sys.executable] + sys.argv)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    build = os.path.abspath(args.build)
    name = "psx" + secrets.token_hex(3)
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    host_dir = tempfile.mkdtemp(prefix="ps-x-host-")
    os.chmod(host_dir, 0o755)
    daemon = None
    log = open(args.daemon_log, "w") if args.daemon_log else subprocess.DEVNULL
    try:
        user = pwd.getpwnam(name)
        for mode in ("per-account", "host daemon"):
            if mode == "host daemon":
                daemon = subprocess.Popen([os.path.join(build, "bin", "portsafed"), "--host", "--host-dir", host_dir,
                                           "--log-level", "info"], stderr=log)
                deadline = time.monotonic() + 5
                while not os.path.exists(os.path.join(host_dir, "host.sock")) and time.monotonic() < deadline:
                    time.sleep(0.02)
            for run in range(args.runs):
                root_ports, user_ports = run_pair(build, args.picks, host_dir if daemon else "/nonexistent", user)
                shared = len(set(root_ports) & set(user_ports))
                print(f"{mode}: run {run + 1}: root picked {len(set(root_ports))} distinct, "
                      f"user picked {len(set(user_ports))} distinct, shared {shared}", flush=True)
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait()
        shutil.rmtree(host_dir, ignore_errors=True)
        subprocess.run(["userdel", name], check=False)


if __name__ == "__main__":
    main()
