"""Shim mode: a connect from inside the job to one of the network namespace's own interface
addresses (a veth's, present when the job starts: the shim reads them at start-up) on the virtual
port is local too and reaches the job's own server. The same behaviour as
test_connect_to_own_interface_address.py proves for bpf mode, with the shim rewriting."""
import test_connect_to_own_interface_address as interface_case
from test_connect_to_own_interface_address import interface_address  # noqa: F401  (the fixture)


def test_connect_to_an_interface_address_reaches_the_jobs_server(ps, barrier, interface_address):  # noqa: F811
    interface_case.test_connect_to_an_interface_address_reaches_the_jobs_server(ps, "shim", barrier, interface_address)
