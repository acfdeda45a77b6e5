"""Shim mode, the shim alone (--intercept preload: no seccomp tier to apply the claim rules behind
it): a server that never sets SO_REUSEADDR binds its virtual port, and lands on the real port the
supervisor holds for the job. The shim rewrites BEFORE its coordinated bind, so the own-held rule
sets SO_REUSEADDR for the real port (a plain bind beside the placeholder would get EADDRINUSE)."""
import virtuallib as vl
import portsafe_testlib as tl


def test_a_server_without_reuse_binds_the_held_real_port(ps, barrier):
    job = vl.virtual_run(ps, "shim", "held", ["8080"], [tl.PYTHON, vl.ECHO_JOB, "--id", "held", "--barrier", barrier],
                         extra=["--intercept", "preload"])
    try:
        with vl.jobs_at_barrier({"held": job}, barrier):
            pass
        seen = vl.result_of(job)
    finally:
        vl.kill_quietly(job)
    assert seen["reply"] == "held"
    assert seen["server_sockname"] == 8080, seen
    assert seen["real_port"] not in (0, 8080)
