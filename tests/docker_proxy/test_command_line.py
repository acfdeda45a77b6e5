"""docker-proxy's command line: Go flag syntax, -v, usage errors (exit 2, one line, also on fd 3)."""
import subprocess

import pytest

from proxy_harness import proxy_program, start_proxy, tcp_backend, EchoHandler, tcp_exchange, free_port


def test_version_flag_prints_version_and_exits_zero(ps):
    for flag in ("-v", "--version", "-version", "-v=true"):
        r = ps.run([proxy_program(), flag])
        assert r.returncode == 0, (flag, r.stderr)
        assert "portsafe-docker-proxy" in r.stdout and "version" in r.stdout


def test_help_lists_dockers_flags(ps):
    r = ps.run([proxy_program(), "-h"])
    assert r.returncode == 0
    for flag in ("-proto", "-host-ip", "-host-port", "-container-ip", "-container-port", "-use-listen-fd"):
        assert flag in r.stdout


@pytest.mark.parametrize("args,fragment", [
    (["-proto", "tcp", "-host-port", "8080", "-container-port", "80"], "-container-ip is required"),
    (["-proto", "tcp", "-host-port", "8080", "-container-ip", "127.0.0.2"], "-container-port is required"),
    (["-proto", "icmp", "-host-port", "1", "-container-ip", "127.0.0.2", "-container-port", "80"], "unknown protocol"),
    (["-host-port", "http", "-container-ip", "127.0.0.2", "-container-port", "80"], "not a number"),
    (["-host-port", "70000", "-container-ip", "127.0.0.2", "-container-port", "80"], "give a port"),
    (["-host-port", "80", "-container-ip", "container", "-container-port", "80"], "not a numeric"),
    (["-host-port", "80", "-host-ip", "localhost", "-container-ip", "127.0.0.2", "-container-port", "80"], "not a numeric"),
    (["-bogus", "1"], "flag provided but not defined: -bogus"),
    (["-use-listen-fd=maybe"], "invalid boolean value"),
    (["-host-port"], "flag needs an argument: -host-port"),
    (["stray"], "unexpected argument 'stray'"),
])
def test_bad_input_is_a_usage_error_on_stderr_and_fd3(ps, args, fragment):
    p = start_proxy(args, ps.env)
    assert p.proc.wait(timeout=10) == 2
    assert p.status.startswith("1\n") and fragment in p.status, p.status
    last_line = p.stderr().strip().splitlines()[-1]
    assert fragment in last_line


@pytest.mark.parametrize("style", ["single", "double", "equals", "mixed"])
def test_go_flag_spellings_are_all_accepted(ps, style):
    port = free_port()
    with tcp_backend(EchoHandler) as (cip, cport):
        pairs = [("proto", "tcp"), ("host-ip", "127.0.0.1"), ("host-port", str(port)),
                 ("container-ip", cip), ("container-port", str(cport))]
        args = []
        for i, (name, value) in enumerate(pairs):
            if style == "single" or (style == "mixed" and i % 3 == 0):
                args += [f"-{name}", value]
            elif style == "double" or (style == "mixed" and i % 3 == 1):
                args += [f"--{name}", value]
            else:
                args.append(f"-{name}={value}")
        p = start_proxy(args, ps.env)
        try:
            assert p.ready, p.status
            assert tcp_exchange("127.0.0.1", port, b"spelling") == b"spelling"
        finally:
            assert p.stop() == 0


def test_sctp_fails_with_a_clear_message_on_fd3(ps):
    p = start_proxy(["-proto", "sctp", "-host-ip", "0.0.0.0", "-host-port", "9999",
                     "-container-ip", "127.0.0.2", "-container-port", "80"], ps.env)
    assert p.proc.wait(timeout=10) == 1
    assert p.status.startswith("1\n")
    assert "sctp is not supported" in p.status


def test_runs_with_stdio_on_dev_null(ps):
    port = free_port()
    with tcp_backend(EchoHandler) as (cip, cport):
        p = start_proxy(["-proto", "tcp", "-host-ip", "127.0.0.1", "-host-port", str(port),
                         "-container-ip", cip, "-container-port", str(cport)], ps.env, stdio_null=True)
        try:
            assert p.ready, p.status
            assert tcp_exchange("127.0.0.1", port, b"quiet") == b"quiet"
        finally:
            assert p.stop() == 0


def test_without_fd3_reports_on_stderr(ps):
    r = subprocess.run([proxy_program(), "-proto", "sctp", "-host-port", "1", "-container-ip", "127.0.0.2",
                        "-container-port", "1"], env=ps.env, capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert "sctp is not supported" in r.stderr
