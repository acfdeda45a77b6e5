"""A hostile account (run as that account, never under portsafe): until DIR/stop exists it
  - writes garbage into everything it can open: every file in the host dir (and tries to create,
    replace and remove files there), every /dev/shm/portsafe-* segment, and keeps scribbling over,
    truncating and regrowing its own table (the one the host daemon reads for its blocks);
  - maps the registry and locks whatever it can open in the host dir, for the whole attack;
  - floods the host socket: idle connections held open, garbage frames, oversized lengths, slow
    writers that never finish a frame, lease requests for its own table (to grab its cap) and
    forged ones naming the victims' tables, queries by the thousand.
Writes DIR/attack.json: what it could open for writing (only its own table is expected), the
replies to forged leases (never a grant), and how many requests of each kind it made."""
import json
import os
import random
import socket
import struct
import sys
import threading
import time

host_dir, own_table, work_dir = sys.argv[1], sys.argv[2], sys.argv[3]
victim_tables = sys.argv[4].split(",") if len(sys.argv) > 4 and sys.argv[4] else []
sock_path = os.path.join(host_dir, "host.sock")
IDLE_CONNECTIONS = 1500
stop_path = os.path.join(work_dir, "stop")
MAGIC, LEASE, QUERY = 0x57465350, 20, 21
counts = {"garbage": 0, "oversized": 0, "slow": 0, "idle": 0, "leases": 0, "forged": 0, "queries": 0,
          "table_scribbles": 0, "connect_failed": 0, "locks": 0}
forged_replies = []
writable = []
lock = threading.Lock()


def stopping():
    return os.path.exists(stop_path)


def bump(key, n=1):
    with lock:
        counts[key] += n


def frame(kind, payload=b"", length=None):
    return struct.pack("<IHHI", MAGIC, 1, kind, len(payload) if length is None else length) + payload


def text(s):
    b = s.encode()
    return struct.pack("<H", len(b)) + b


def connect(timeout=1.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        return s
    except OSError:
        s.close()
        bump("connect_failed")
        return None


def reply_of(s):
    try:
        head = s.recv(12)
        if len(head) < 12:
            return None
        _, _, kind, length = struct.unpack("<IHHI", head)
        body = s.recv(length) if length else b""
        return kind, body
    except OSError:
        return None


def try_write(path):
    for flags in (os.O_RDWR, os.O_WRONLY | os.O_APPEND, os.O_WRONLY | os.O_TRUNC):
        try:
            fd = os.open(path, flags | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            os.write(fd, os.urandom(4096))
        except OSError:
            pass
        finally:
            os.close(fd)
        return True
    return False


def attack_files():
    """Once: everything under the host dir and in /dev/shm that it can open for writing."""
    for name in os.listdir(host_dir):
        path = os.path.join(host_dir, name)
        if try_write(path):
            writable.append(path)
    for action, path in (("create", os.path.join(host_dir, "planted")), ("replace", os.path.join(host_dir, "leases"))):
        try:
            fd = os.open(path + ".x", os.O_CREAT | os.O_WRONLY, 0o666)
            os.close(fd)
            writable.append(f"{action}:{path}")
            os.rename(path + ".x", path)
        except OSError:
            pass
    for victim in ("leases", "host.sock"):
        try:
            os.unlink(os.path.join(host_dir, victim))
            writable.append(f"unlink:{victim}")
        except OSError:
            pass
    for name in os.listdir("/dev/shm"):
        if not name.startswith("portsafe-"):
            continue  # other software's segments are none of this test's business
        path = os.path.join("/dev/shm", name)
        if try_write(path) and path != own_table:
            writable.append(path)


def hold_registry():
    """Maps the registry read-only and takes every lock it can on it and on anything else in the
    host dir, for the whole attack: a restarted host daemon must not wait for any of them."""
    import fcntl
    import mmap
    held = []
    for name in os.listdir(host_dir):
        path = os.path.join(host_dir, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        held.append(fd)
        for how in (fcntl.LOCK_EX | fcntl.LOCK_NB, fcntl.LOCK_SH | fcntl.LOCK_NB):
            try:
                fcntl.flock(fd, how)
                with lock:
                    counts["locks"] += 1
                break
            except OSError:
                pass
        try:
            held.append(mmap.mmap(fd, 0, prot=mmap.PROT_READ))
        except (OSError, ValueError):
            pass
    while not stopping():
        time.sleep(0.05)
    for item in held:
        if isinstance(item, int):
            os.close(item)
        else:
            item.close()


def scribble_own_table():
    size = os.path.getsize(own_table) if os.path.exists(own_table) else 1 << 20
    while not stopping():
        try:
            fd = os.open(own_table, os.O_RDWR)
        except OSError:
            time.sleep(0.01)
            continue
        try:
            choice = random.random()
            if choice < 0.5:
                os.pwrite(fd, os.urandom(random.randint(1, 8192)), random.randint(0, size))
            elif choice < 0.7:
                os.ftruncate(fd, random.choice([0, 64, 511, size // 2]))  # the SIGBUS trap for a mapper
            elif choice < 0.85:
                os.ftruncate(fd, size)
                os.pwrite(fd, os.urandom(512), 0)  # a header that fails every check
            else:
                os.ftruncate(fd, size * 4)
        except OSError:
            pass
        finally:
            os.close(fd)
        bump("table_scribbles")
        time.sleep(0.001)


def hold_idle():
    """As many idle connections as the daemon lets it have, replaced as soon as the daemon drops
    them: more than the daemon's whole connection budget (1,024) if nothing limits one account."""
    held = []
    while not stopping():
        alive = []
        for s in held:
            try:
                if s.recv(1, socket.MSG_DONTWAIT) == b"":
                    s.close()
                    continue
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                continue
            alive.append(s)
        held = alive
        while len(held) < IDLE_CONNECTIONS and not stopping():
            s = connect()
            if s is None:
                break
            held.append(s)
            bump("idle")
        time.sleep(0.02)
    for s in held:
        s.close()


def send_garbage():
    while not stopping():
        s = connect()
        if s is None:
            time.sleep(0.005)
            continue
        try:
            kind = random.random()
            if kind < 0.4:
                s.sendall(os.urandom(random.randint(1, 4096)))
                bump("garbage")
            elif kind < 0.7:
                s.sendall(frame(random.choice([LEASE, QUERY, 0, 7, 0xFFFF]), os.urandom(8), length=0xFFFFFFF0))
                bump("oversized")
            else:
                s.sendall(frame(QUERY, os.urandom(random.randint(0, 3))))
                bump("garbage")
            reply_of(s)
        except OSError:
            pass
        finally:
            s.close()


def write_slowly():
    while not stopping():
        s = connect()
        if s is None:
            time.sleep(0.01)
            continue
        data = frame(LEASE, text(os.path.basename(own_table)))
        try:
            for byte in data[:-1]:  # never the last byte
                if stopping():
                    break
                s.send(bytes([byte]))
                time.sleep(0.05)
            bump("slow")
            while not stopping():
                time.sleep(0.05)
        except OSError:
            pass
        finally:
            s.close()


def lease_and_query():
    own = os.path.basename(own_table)
    while not stopping():
        s = connect()
        if s is None:
            time.sleep(0.005)
            continue
        try:
            for _ in range(50):
                r = random.random()
                if r < 0.3:
                    s.sendall(frame(LEASE, text(own)))
                    bump("leases")
                elif r < 0.5 and victim_tables:
                    s.sendall(frame(LEASE, text(random.choice(victim_tables))))
                    reply = reply_of(s)
                    bump("forged")
                    with lock:
                        forged_replies.append(None if reply is None else reply[0])
                    if reply is None:
                        break
                    continue
                else:
                    s.sendall(frame(QUERY, struct.pack("<BH", random.randint(0, 1), random.randint(0, 65535))))
                    bump("queries")
                if reply_of(s) is None:
                    break
        except OSError:
            pass
        finally:
            s.close()


def main():
    attack_files()
    workers = [hold_registry, scribble_own_table, hold_idle, write_slowly, write_slowly, send_garbage, send_garbage,
               lease_and_query, lease_and_query]
    threads = [threading.Thread(target=w, daemon=True) for w in workers]
    for t in threads:
        t.start()
    with open(os.path.join(work_dir, "attack.started"), "w"):
        pass
    deadline = time.monotonic() + 600
    while not stopping() and time.monotonic() < deadline:
        time.sleep(0.05)
    for t in threads:
        t.join(timeout=10)
    with open(os.path.join(work_dir, "attack.json.tmp"), "w") as f:
        json.dump({"writable": writable, "forged_replies": forged_replies, "counts": counts}, f)
    os.rename(os.path.join(work_dir, "attack.json.tmp"), os.path.join(work_dir, "attack.json"))


if __name__ == "__main__":
    main()
