"""Shim mode: the job's exit frees its real ports, and after a SIGKILL of portsafe-run the
supervisor frees them. The same behaviour as test_job_end_frees_real_ports_and_cgroup.py proves for
bpf mode (shim mode makes no cgroup)."""
import test_job_end_frees_real_ports_and_cgroup as job_end_case


def test_exit_frees_the_real_ports(ps):
    job_end_case.test_exit_frees_the_real_ports_and_removes_the_cgroup(ps, "shim")


def test_sigkill_of_portsafe_run_frees_the_real_ports(ps, tmp_path):
    job_end_case.test_sigkill_of_portsafe_run_frees_the_ports_and_the_next_run_removes_its_cgroup(ps, "shim", tmp_path)
