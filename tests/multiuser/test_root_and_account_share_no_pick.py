"""The issue's experiment: a root job picks 5,000 ports with bind 0 and closes them (they linger
for the job, as a number handed to a server does) while a job of another account picks 5,000.
With the host daemon running, not one number is given to both. (Before host-wide coordination,
1,101 to 4,822 were, in the issue's runs; see the figure in docs/ARCHITECTURE.md.)"""
from multiuserlib import assert_picks_from_portsafe, picking, shared_ports

PICKS = 5000


def test_root_and_another_account_share_no_pick(host, make_accounts, work):
    accounts = make_accounts(1, host, with_root=True)
    with picking(accounts, work, PICKS, keep_every=0) as (results, _jobs):
        for tag, result in results.items():
            assert_picks_from_portsafe(result, tag)
            assert len(set(result["tcp"])) == PICKS, f"{tag} got a number twice"
        shared = shared_ports(results)
        print(f"shared ports: {len(shared)} of {PICKS} per job")
        assert not shared, f"{len(shared)} ports given to both accounts, e.g. {sorted(shared.items())[:5]}"
    assert host.alive(), host.log()
