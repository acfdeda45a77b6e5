"""`portsafe status` shows a port held for --virtual 8080 as `8080 -> REAL (job X)`, and --json
gives virtual_port; the real port is PORTSAFE_REAL_PORT_8080 and {{8080}} in COMMAND."""
import json

import virtuallib as vl


def test_status_shows_8080_to_its_real_port(ps, mode):
    out = ps.run([ps.program("portsafe-run"), "--job", "shown", "--virtual-mode", mode, "--virtual", "8080", "--",
                  "sh", "-c", f"echo real=$PORTSAFE_REAL_PORT_8080 arg={{{{8080}}}}; {ps.program('portsafe')} status; "
                              f"{ps.program('portsafe')} status --json"])
    assert out.returncode == 0, out.stderr
    first, rest = out.stdout.split("\n", 1)
    real = int(first.split()[0].split("=")[1])
    assert first == f"real={real} arg={real}"
    assert f"8080 -> {real} (job shown)" in rest, rest
    rows = json.loads(rest[rest.index("\n["):])
    assert [(r["port"], r["virtual_port"], r["label"]) for r in rows] == [(real, 8080, "virtual 8080")]
