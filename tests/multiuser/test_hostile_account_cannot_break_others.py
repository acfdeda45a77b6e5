"""An account that writes garbage into everything it can open (its own table, which the host
daemon reads for its blocks, every file under the host dir and every /dev/shm/portsafe-* segment)
and floods the host socket (idle connections, garbage frames, oversized lengths, slow writers,
lease and query storms, forged leases naming the victims' tables) cannot make another account's
job fail or hang: two victims' jobs (root and another account) pick 2,000 ports each meanwhile,
every pick from portsafe's range, none shared; their fixed binds into the attacker's blocks (the
host daemon then reads the attacker's scribbled table) end within their bounds; the host daemon,
restarted in the middle of the attack (the attacker mapping and locking what it can in the host
dir), serves again; nothing outside its own table was writable to the attacker and no forged
lease was granted."""
import json
import os
import subprocess
import time
from types import SimpleNamespace

from multiuserlib import (HOST_LEASED, PICKS_SCRIPT_TIMEOUT, PYTHON, PickingJob, Registry,
                          assert_picks_from_portsafe, picking, program, shared_ports, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
PICKS = 2000

FIXED_BINDS = """
import errno, socket, sys, time
ok = inuse = 0
slowest = 0.0
for port in map(int, sys.argv[1:]):
    s = socket.socket()
    t = time.monotonic()
    try:
        s.bind(("127.0.0.1", port))
        ok += 1
    except OSError as e:
        if e.errno != errno.EADDRINUSE:
            raise
        inuse += 1
    finally:
        slowest = max(slowest, time.monotonic() - t)
        s.close()
print(ok, inuse, f"{slowest:.3f}")
"""


def start_attacker(attacker, host, work, victims):
    """The attacker's own job first (its table exists, it leases blocks and lingers in them: the
    host daemon reads that table for those blocks), then the attack on everything it can reach.
    Returns the attack process, the job and the attacker's blocks before the attack."""
    job = PickingJob(attacker, work, "attacker", ["attacker"], 300, keep_every=3)
    proc = None
    try:
        job.wait_result(60)
        blocks = Registry(host.registry_path).blocks_of(attacker.uid)
        assert blocks, "the attacker's job leased no block"
        victim_tables = ",".join(os.path.basename(v.table) for v in victims)
        proc = attacker.popen([PYTHON, os.path.join(HERE, "attacker.py"), host.dir, attacker.table, work.path,
                               victim_tables], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert wait_for(lambda: os.path.exists(work.file("attack.started")) or proc.poll() is not None, timeout=30)
        assert proc.poll() is None, proc.stderr.read()
        return proc, job, blocks
    except BaseException:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=15)
        job.kill()
        raise


def stop_attacker(proc, work):
    with open(work.file("stop"), "w"):
        pass
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=15)
    with open(work.file("attack.json")) as f:
        return json.load(f)


def work_round(work, name):
    """A fresh barrier directory for a second round of picking jobs (inside the work dir)."""
    path = work.file(name)
    os.mkdir(path)
    os.chmod(path, 0o1777)
    return SimpleNamespace(path=path, file=lambda n: os.path.join(path, n))


def test_hostile_account_cannot_make_others_fail_or_hang(host, make_accounts, work):
    root, victim, attacker = make_accounts(2, host, with_root=True)
    victims = [root, victim]
    proc, attacker_job, theirs = start_attacker(attacker, host, work, victims)
    try:
        time.sleep(1)  # the flood is under way before the victims start
        started = time.monotonic()
        with picking(victims, work, PICKS, keep_every=7, udp_every=5, timeout=PICKS_SCRIPT_TIMEOUT) as (results, _):
            picked_in = time.monotonic() - started
            for tag, result in results.items():
                assert_picks_from_portsafe(result, tag)
            shared = shared_ports(results)
            assert not shared, f"{len(shared)} ports given to both victims under attack: {sorted(shared)[:5]}"
            # Fixed binds into the attacker's blocks: each asks the host daemon, which reads the
            # attacker's scribbled table; the victim's job must still end, every bind in bounds.
            registry = Registry(host.registry_path)
            ports = [registry.low + b["index"] * registry.block_size + k for b in theirs[:4] for k in (0, 5, 17)]
            out = victim.run([program("portsafe-run"), "--", PYTHON, "-c", FIXED_BINDS, *map(str, ports)], timeout=60)
            assert out.returncode == 0, out.stderr
            ok, inuse, slowest = out.stdout.split()
            print(f"victims picked {PICKS} each in {picked_in:.1f} s under attack; fixed binds into the attacker's "
                  f"blocks: {ok} bound, {inuse} refused, slowest {slowest} s")
            # The issue: another account cannot make this job hang. A bind's query gives up after
            # 200 ms (then fails open); 2 s is a generous bound for the slowest one.
            assert int(ok) + int(inuse) == len(ports), out.stdout
            assert float(slowest) < 2.0, f"a fixed bind into the attacker's blocks took {slowest} s"
        # The host daemon restarts (an upgrade) while the attacker maps and locks what it can in
        # the host dir and keeps flooding: it serves again, and the victims pick again.
        host.stop()
        host.start()
        again = work_round(work, "again")
        with picking(victims, again, PICKS // 2, keep_every=7, timeout=PICKS_SCRIPT_TIMEOUT,
                     tags=[f"{v.name}-again" for v in victims]) as (results, _):
            for tag, result in results.items():
                assert_picks_from_portsafe(result, tag)
            assert not shared_ports(results), "victims shared ports after the host daemon's restart under attack"
    finally:
        try:
            report = stop_attacker(proc, work)
        finally:
            attacker_job.kill()
    print("attack:", report["counts"])
    assert report["writable"] == [], f"the attacker could write: {report['writable']}"
    assert report["counts"]["forged"] > 0 and HOST_LEASED not in report["forged_replies"], report["forged_replies"][:20]
    assert report["counts"]["garbage"] > 0 and report["counts"]["slow"] > 0 and report["counts"]["table_scribbles"] > 0
    assert host.alive(), host.log()[-3000:]
