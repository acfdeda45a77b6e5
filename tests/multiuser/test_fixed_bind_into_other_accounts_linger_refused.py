"""An account cannot take another account's lingering picks: a victim's job picks ports and
closes them (lingering for its job, as numbers handed on do); the intruder's own wrapped job then
binds each of those numbers explicitly and is refused with EADDRINUSE (the shim asks the host
daemon about a port in another account's block). What the intruder can do meanwhile — its own
gc, a gc of the victim's root, lease requests for its own table and forged ones naming the victim's,
a query carrying the victim's uid — frees none of them."""
import json
import os
import struct

from multiuserlib import (ERROR, HOST_LEASED, HOST_PORT, HOST_QUERY, NOT_PERMITTED, PYTHON, Registry,
                          assert_picks_from_portsafe, frame, lease_frame, picking, program, query_frame)

PICKS = 300

FIXED_BINDS = """
import errno, json, socket, sys
refused, bound = [], []
for port in map(int, sys.argv[1:]):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        bound.append(port)
    except OSError as e:
        if e.errno != errno.EADDRINUSE:
            raise
        refused.append(port)
    finally:
        s.close()
print(json.dumps({"refused": refused, "bound": bound}))
"""

RAW_LEASES = """
import socket, struct, sys
path, frames = sys.argv[1], [bytes.fromhex(h) for h in sys.argv[2:]]
kinds = []
for f in frames:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    s.sendall(f)
    head = s.recv(12)
    kind = struct.unpack("<IHHI", head)[2] if len(head) == 12 else 0
    code = struct.unpack("<H", s.recv(2))[0] if kind == 101 else s.recv(1)[0] if kind == 121 else 0
    kinds.append(f"{kind}:{code}")
    s.close()
print(" ".join(kinds))
"""


def intruder_binds(intruder, ports):
    out = intruder.run([program("portsafe-run"), "--", PYTHON, "-c", FIXED_BINDS, *map(str, ports)], timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_intruder_cannot_take_or_free_a_victims_lingering_ports(host, make_accounts, work):
    victim, intruder = make_accounts(2, host)
    # Both accounts have a table and blocks: the victim's picks linger in its blocks.
    with picking([victim], work, PICKS, keep_every=0) as (results, _jobs):
        (tag, result), = results.items()
        assert_picks_from_portsafe(result, tag)
        lingering = result["tcp"]
        registry = Registry(host.registry_path)
        assert all(registry.owner_of(p) and registry.owner_of(p)[0] == victim.uid for p in lingering), \
            "the victim's picks are not in blocks leased to it"
        first = intruder_binds(intruder, lingering)
        assert first["bound"] == [], f"the intruder bound {len(first['bound'])} of the victim's lingering ports: {first['bound'][:5]}"

        # Attempts to free them: the intruder's own gc, a gc of the victim's root, leases for
        # its own table (its cap) and forged ones naming the victim's table.
        assert intruder.run([program("portsafe"), "gc"]).returncode == 0
        out = intruder.run([program("portsafe"), "--runtime-dir", victim.root, "gc"])
        assert out.returncode != 0, "the intruder ran gc on the victim's root"
        # A query may carry no identity: one with the victim's uid appended is refused or answered
        # for the intruder (taken), never as if the victim asked (not taken).
        forged_query = frame(HOST_QUERY, struct.pack("<BHI", 0, lingering[0], victim.uid))
        frames = [lease_frame(os.path.basename(intruder.table)).hex()] * 8 + \
                 [lease_frame(os.path.basename(victim.table)).hex()] * 4 + \
                 [query_frame("tcp", lingering[0]).hex(), forged_query.hex()]
        out = intruder.run([PYTHON, "-c", RAW_LEASES, host.socket_path, *frames])
        assert out.returncode == 0, out.stderr
        kinds = out.stdout.split()
        assert kinds[8:12] == [f"{ERROR}:{NOT_PERMITTED}"] * 4, f"forged leases answered {kinds[8:12]}"
        assert kinds[12] == f"{HOST_PORT}:1", f"the victim's lingering port not reported taken: {kinds[12]}"
        assert kinds[13] == f"{HOST_PORT}:1" or kinds[13].startswith(f"{ERROR}:"), f"forged query: {kinds[13]}"
        assert {k.split(":")[0] for k in kinds[:8]} <= {str(HOST_LEASED), str(ERROR)}, kinds

        again = intruder_binds(intruder, lingering)
        assert again["bound"] == [], f"after the intruder's attempts it bound {again['bound'][:5]}"
        after = Registry(host.registry_path)
        assert all(after.owner_of(p) == registry.owner_of(p) for p in lingering), "the victim's blocks changed hands"
    assert host.alive(), host.log()[-3000:]
