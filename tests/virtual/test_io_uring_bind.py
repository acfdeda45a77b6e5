"""A bind made through io_uring (IORING_OP_BIND, no bind() system call for the shim or a seccomp
filter to see) to the virtual port lands on the job's real port in bpf mode: it succeeds though
an outsider listens on 127.0.0.1:8080, and the server answers at PORTSAFE_REAL_PORT_8080."""
import pytest

import virtuallib as vl


# Only the BPF tier sees io_uring binds.
@pytest.mark.parametrize("mode", ["bpf"], indirect=True)
def test_io_uring_bind_to_the_virtual_port_lands_on_the_real_one(ps, mode):
    uring = vl.built_program("virtual_uring_bind")
    outsider = vl.Outsider(8080)
    job = vl.virtual_run(ps, mode, "uring", ["8080"], ["sh", "-c", f"echo $PORTSAFE_REAL_PORT_8080; exec {uring} 8080"])
    try:
        real = int(job.stdout.readline())
        said = job.stdout.readline().strip()
        if job.poll() == 77 or (said == "" and job.wait(timeout=30) == 77):
            pytest.skip("this kernel has no IORING_OP_BIND (Linux 6.11+)")
        assert said == "listening", job.stderr.read()
        assert vl.ask(real) == "uring"
        assert job.wait(timeout=30) == 0, job.stderr.read()
        assert vl.ask(8080) == "outsider"
    finally:
        vl.kill_quietly(job)
        outsider.close()
