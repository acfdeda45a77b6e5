"""A private Docker engine for the real-Docker tier (tests/docker/).

Each test file runs as the init of its own PID, mount and network namespace (tests/lib/in_netns.sh),
and starts dockerd *inside* it: its bridge, veth pairs and iptables rules live in that namespace
and vanish with it, its data-root, exec-root, pidfile and API socket lie in a temporary
directory, and every container and daemon it starts is stopped by the fixture (the namespace's
init fails the test for any process left). Verified here: dockerd 20.10 creates docker0, its
veths and NAT rules in such a namespace as it would on the host (the host's /sys is left as it is:
remounting sysfs there would hide the cgroup mounts runc needs).

The image is imported, never pulled (there is no registry): a rootfs with Debian's static
busybox and echo_server.c compiled with gcc -static.

Modes (the three ways dockerd publishes a port):
  debian     Debian's /usr/sbin/docker-proxy (20.10) binds the port itself over the placeholder
  portsafe   portsafe-docker-proxy receives the held socket from the job's supervisor
  noproxy    "userland-proxy": false; dockerd binds the port itself and forwards with iptables
"""
import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import portsafe_testlib

DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"  # Debian's client; /usr/local/bin/docker may be another one
DEBIAN_PROXY = "/usr/sbin/docker-proxy"
BUSYBOX = "/bin/busybox"
IMAGE = "portsafe-echo"
MODES = ("debian", "portsafe", "noproxy")
HERE = os.path.dirname(os.path.abspath(__file__))


def skip_reason():
    """One line saying why dockerd cannot run here, or None."""
    for path, package in ((DOCKERD, "docker.io"), (DOCKER, "docker.io"), (DEBIAN_PROXY, "docker.io"),
                          (BUSYBOX, "busybox-static"), ("/usr/sbin/iptables", "iptables")):
        if not os.access(path, os.X_OK):
            return f"real-Docker tier skipped: {path} missing (scripts/install-deps.sh installs {package})"
    if os.geteuid() != 0:
        return "real-Docker tier skipped: dockerd needs root"
    if not os.environ.get("PORTSAFE_IN_PIDNS"):
        # Never on the host's own network: dockerd would change the host's iptables and bridges.
        return ("real-Docker tier skipped: needs a private network+mount namespace "
                "(run through tests/lib/in_netns.sh; unshare -n -p --mount-proc was not permitted)")
    return None


def build_rootfs(directory):
    """bin/busybox (+ sh, cat, sleep ... as links) and bin/echo_server, both static."""
    bin_dir = os.path.join(directory, "bin")
    os.makedirs(bin_dir)
    shutil.copy(BUSYBOX, os.path.join(bin_dir, "busybox"))
    for applet in ("sh", "cat", "sleep", "echo", "ls", "nc"):
        os.symlink("busybox", os.path.join(bin_dir, applet))
    subprocess.run(["gcc", "-static", "-O2", "-o", os.path.join(bin_dir, "echo_server"),
                    os.path.join(HERE, "echo_server.c")], check=True, timeout=120)


class Dockerd:
    """A dockerd of its own, configured for one mode; `docker(...)` talks to it."""

    def __init__(self, base, mode, env):
        self.base = base
        self.mode = mode
        self.socket = os.path.join(base, "docker.sock")
        self.log_path = os.path.join(base, "dockerd.log")
        self.env = dict(env)
        self.env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"  # Debian's docker, containerd, runc
        self.env.pop("LD_PRELOAD", None)
        self.proc = None

    def arguments(self):
        # An empty config file of our own: the host's /etc/docker/daemon.json may set options
        # our flags would conflict with (dockerd refuses to start then).
        config = os.path.join(self.base, "daemon.json")
        with open(config, "w") as f:
            f.write("{}\n")
        args = [DOCKERD, "--config-file", config,
                "--data-root", os.path.join(self.base, "data"), "--exec-root", os.path.join(self.base, "exec"),
                "--pidfile", os.path.join(self.base, "dockerd.pid"), "-H", f"unix://{self.socket}",
                "--ip6tables=false", "--log-level", "warn"]
        if self.mode == "debian":
            args += ["--userland-proxy=true", f"--userland-proxy-path={DEBIAN_PROXY}"]
        elif self.mode == "portsafe":
            args += ["--userland-proxy=true", f"--userland-proxy-path={portsafe_testlib.program('portsafe-docker-proxy')}"]
        else:
            args += ["--userland-proxy=false"]
        return args

    def start(self, timeout=60):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.arguments(), env=self.env, stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited with {self.proc.returncode}:\n{self.log_tail()}")
            if os.path.exists(self.socket) and self.docker("version", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"dockerd did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines=30):
        with contextlib.suppress(OSError), open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
        return ""

    def docker(self, *args, check=True, timeout=120, input=None):
        result = subprocess.run([DOCKER, "-H", f"unix://{self.socket}", *args], env=self.env, capture_output=True,
                                text=True, timeout=timeout, input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def import_image(self, rootfs):
        tar = subprocess.run(["tar", "-C", rootfs, "-c", "."], capture_output=True, check=True, timeout=60).stdout
        result = subprocess.run([DOCKER, "-H", f"unix://{self.socket}", "import", "-c", "ENV PATH=/bin",
                                 "-c", 'CMD ["/bin/echo_server"]', "-", IMAGE], input=tar, env=self.env,
                                capture_output=True, timeout=120)
        assert result.returncode == 0, result.stderr.decode(errors="replace")

    def remove_all_containers(self):
        ids = self.docker("ps", "-aq", check=False).stdout.split()
        if ids:
            self.docker("rm", "-f", *ids, check=False)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(Exception):
            self.remove_all_containers()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        # containerd is dockerd's child and goes with it; give it the moment to exit.
        portsafe_testlib.wait_for(lambda: not leftover_engine_processes(), timeout=10)


def leftover_engine_processes():
    """containerd, shims, proxies still running in this PID namespace."""
    names = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError), open(f"/proc/{entry}/comm") as f:
            comm = f.read().strip()
            if comm.startswith(("containerd", "dockerd", "docker-proxy", "portsafe-docker")):
                names.append(f"{entry} {comm}")
    return names


@contextlib.contextmanager
def private_dockerd(mode, env):
    """A started dockerd with the test image imported; stopped (containers first) at the end."""
    base = tempfile.mkdtemp(prefix=f"dockerd-{mode}-", dir="/tmp")
    engine = Dockerd(base, mode, env)
    try:
        rootfs = os.path.join(base, "rootfs")
        build_rootfs(rootfs)
        engine.start()
        engine.import_image(rootfs)
        yield engine
    finally:
        engine.stop()
        shutil.rmtree(base, ignore_errors=True)


class DockerJob:
    def __init__(self, proc, port):
        self.proc = proc
        self.port = port


@contextlib.contextmanager
def docker_job(ps, spec, publish, container="c1", extra_run_args=()):
    """The README's command kept alive: `portsafe-run --port SPEC -- sh -c 'docker run -d -p
    PUBLISH ...; echo PORT; exec sleep'` (PUBLISH uses {{NAME}}, e.g. "{{web}}:80"). The job
    ends (SIGTERM, its sleep with it) when the block does; its own session, so a test that
    SIGKILLs portsafe-run can still end the rest."""
    run = " ".join([DOCKER, "run", "-d", "--name", container, "-p", publish, *extra_run_args, IMAGE])
    with sleeping_job(ps, "--port", spec, f"{run} >/dev/null && ", timeout=60) as job:
        yield job


def tcp_echo(host, port, payload=b"ping\n", timeout=5.0):
    """payload sent and read back through the published port; None when it failed."""
    with contextlib.suppress(OSError):
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            return got
    return None


def udp_echo(host, port, payload=b"ping", timeout=1.0):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        with contextlib.suppress(OSError):
            s.sendto(payload, (host, port))
            return s.recvfrom(65536)[0]
    return None


def wait_served(port, proto="tcp", host="127.0.0.1", timeout=30.0):
    """True once the published port echoes (dockerd starts the proxy and the container apart)."""
    echo = tcp_echo if proto == "tcp" else udp_echo
    return portsafe_testlib.wait_for(lambda: echo(host, port, b"hello\n") == b"hello\n", timeout=timeout,
                                     interval=0.1)


def status_label(ps, port, proto="tcp"):
    """The label `portsafe status --json` shows for port, or None when it is not held."""
    r = ps.run([portsafe_testlib.program("portsafe"), "status", "--json"])
    assert r.returncode == 0, r.stderr
    for entry in json.loads(r.stdout):
        if entry["port"] == port and entry["proto"] == proto:
            return entry.get("label", entry.get("name"))
    return None


def held_port_named(ps, name, proto="tcp"):
    """The port `portsafe status --json` shows labelled `name` (the job's only one)."""
    r = ps.run([portsafe_testlib.program("portsafe"), "status", "--json"])
    assert r.returncode == 0, r.stderr
    ports = [e["port"] for e in json.loads(r.stdout) if e["proto"] == proto and e["label"].split(" ")[0] == name]
    assert len(ports) == 1, r.stdout
    return ports[0]


def container_address(engine, container="c1"):
    return engine.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                         container).stdout.strip()


@contextlib.contextmanager
def launched_job(ps, spec, option="--port"):
    """A job that holds SPEC (`option` SPEC) and sleeps (the test runs docker itself, by number)."""
    with sleeping_job(ps, option, spec, "", timeout=30) as job:
        yield job


@contextlib.contextmanager
def sleeping_job(ps, option, spec, before, timeout):
    """portsafe-run OPTION SPEC -- sh -c 'BEFORE echo {{NAME}} && exec sleep 600': the job's port,
    read from its first line, until the block ends (end_job)."""
    name = spec.split("/")[0]
    proc = subprocess.Popen([portsafe_testlib.program("portsafe-run"), option, spec, "--", "/bin/sh", "-c",
                             f"{before}echo {{{{{name}}}}} && exec sleep 600"],
                            env=ps.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        line = portsafe_testlib.first_line(proc, timeout=timeout).strip()
        assert line.isdigit(), f"job did not start: {line!r} {proc.poll()} {proc.stderr.read() if proc.poll() is not None else ''}"
        yield DockerJob(proc, int(line))
    finally:
        end_job(proc)


def end_job(proc):
    """SIGTERM to the job's session (portsafe-run and its COMMAND), SIGKILL after 10 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # what a SIGKILLed launcher left in its group


class PortThief:
    """Binds `port` by number in a loop on a thread (0.0.0.0, 127.0.0.1, [::]) until stopped; with
    reuse_listen, with SO_REUSEADDR and listen() as a consumer would. `stolen` lists every win."""

    def __init__(self, port, reuse_listen):
        self.port = port
        self.reuse_listen = reuse_listen
        self.stop = threading.Event()
        self.stolen = []
        self.attempts = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def try_bind(self, family, host):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            if self.reuse_listen:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                s.bind((host, self.port))
                s.listen(1)
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
                return False
            return True

    def run(self):
        while not self.stop.is_set():
            for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::")):
                self.attempts += 1
                if self.try_bind(family, host):
                    self.stolen.append(f"{'SO_REUSEADDR+listen' if self.reuse_listen else 'plain bind'} on {host}")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)
