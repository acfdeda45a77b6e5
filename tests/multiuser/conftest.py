"""Fixtures of the many-accounts tests: root, throwaway accounts, the host daemon, a work dir."""
import pytest

import multiuserlib


@pytest.fixture
def work():
    multiuserlib.require_root()
    w = multiuserlib.WorkDir()
    try:
        yield w
    finally:
        w.remove()


@pytest.fixture
def host():
    """`portsafe --host` as root in a host dir of this test's own, stopped at the end."""
    multiuserlib.require_root()
    with multiuserlib.host_daemon() as h:
        yield h


@pytest.fixture
def make_accounts():
    """make_accounts(n, host, with_root=False): n throwaway accounts (and root first when asked),
    each with a runtime root of its own; all removed at the end."""
    multiuserlib.require_root()
    stack = []

    def make(n, host=None, with_root=False):
        users_cm = multiuserlib.throwaway_users(n)
        users = users_cm.__enter__()
        stack.append(users_cm)
        accounts = ([multiuserlib.Account(None, host)] if with_root else []) + \
                   [multiuserlib.Account(u, host) for u in users]
        stack.extend(accounts)
        return accounts

    try:
        yield make
    finally:
        for item in reversed(stack):
            if isinstance(item, multiuserlib.Account):
                item.cleanup()
            else:
                item.__exit__(None, None, None)
