"""Two and four accounts at once, picks interleaved batch by batch (a barrier per 100 picks),
TCP and UDP, every 7th socket kept bound and the rest closed at once (lingering for its job): with
the host daemon running, no port is given to two accounts, and every pick still comes from
portsafe's range (never the kernel's own choice)."""
import pytest

from multiuserlib import assert_picks_from_portsafe, picking, shared_ports


@pytest.mark.parametrize("accounts_at_once,picks", [(2, 3000), (4, 2000)])
def test_accounts_picking_at_once_share_nothing(host, make_accounts, work, accounts_at_once, picks):
    accounts = make_accounts(accounts_at_once, host)
    with picking(accounts, work, picks, keep_every=7, udp_every=5) as (results, _jobs):
        for tag, result in results.items():
            assert_picks_from_portsafe(result, tag)
            assert len(result["tcp"]) + len(result["udp"]) == picks
            assert len(set(result["tcp"])) == len(result["tcp"]) and len(set(result["udp"])) == len(result["udp"])
        shared = shared_ports(results)
        print(f"{accounts_at_once} accounts x {picks} picks: {len(shared)} ports shared")
        assert not shared, f"{len(shared)} ports given to two accounts, e.g. {sorted(shared.items())[:5]}"
    assert host.alive(), host.log()
