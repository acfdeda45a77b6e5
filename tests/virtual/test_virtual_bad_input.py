"""Bad --virtual input exits 125 with one line naming the problem, and COMMAND never runs."""
import pytest

CASES = {
    "zero": (["--virtual", "0"], "not a port number"),
    "too big": (["--virtual", "65536"], "not a port number"),
    "garbage": (["--virtual", "http"], "not a port number"),
    "bad protocol": (["--virtual", "8080/sctp"], "unknown protocol"),
    "twice": (["--virtual", "8080", "--virtual", "8080"], "given twice"),
    "twice across protocols": (["--virtual", "53", "--virtual", "53/udp"], "given twice"),
    "also a --port name": (["--port", "8080", "--virtual", "8080"], "both --virtual 8080 and a --port"),
    "bad mode": (["--virtual", "8080", "--virtual-mode", "ebpf"], "choose auto, bpf or shim"),
    "more than the range": (["--virtual", "8080", "--virtual", "8081", "--virtual", "8082"], "has only 2"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_virtual_input_is_refused_with_one_line(ps, case):
    args, expected = CASES[case]
    ps.set_range(31000, 31001)
    marker = ps.tmp / "ran"
    out = ps.run([ps.program("portsafe-run")] + args + ["--", "touch", str(marker)])
    assert out.returncode == 125, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("portsafe-run: ") and expected in lines[0], lines[0]
    assert not marker.exists()


def test_more_virtual_ports_than_a_job_may_have_are_refused(ps):
    args = []
    for port in range(9000, 9257):
        args += ["--virtual", str(port)]
    out = ps.run([ps.program("portsafe-run")] + args + ["--", "true"])
    assert out.returncode == 125, out.stderr
    assert "at most 256" in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
