"""Shim mode: a portsafe-run --virtual 9090 inside a portsafe-run --virtual 8080 keeps the outer
job's virtual port (COMMAND's PORTSAFE_VIRTUAL carries both) and adds its own, while outsiders
hold 8080 and 9090. The same behaviour as test_nested_virtual_jobs.py proves for bpf mode."""
import test_nested_virtual_jobs as nested_case


def test_inner_job_has_the_outer_virtual_port_and_its_own(ps):
    nested_case.test_inner_job_has_the_outer_virtual_port_and_its_own(ps, "shim")
