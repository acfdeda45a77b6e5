"""Java's ServerSocket(0) under the shim gets a port from the range (the JVM binds through libc)."""
import shutil
import subprocess

import pytest

import shimlib

RANGE = (24400, 24415)

SOURCE = """
import java.net.ServerSocket;
public class PickPort {
    public static void main(String[] args) throws Exception {
        try (ServerSocket first = new ServerSocket(0); ServerSocket second = new ServerSocket(0)) {
            System.out.println(first.getLocalPort() + " " + second.getLocalPort());
        }
    }
}
"""


@pytest.mark.skipif(shutil.which("javac") is None, reason="a JDK is not installed (scripts/install-deps.sh)")
def test_java_server_socket_zero_comes_from_the_range(ps, tmp_path):
    ps.set_range(*RANGE)
    (tmp_path / "PickPort.java").write_text(SOURCE)
    subprocess.run(["javac", "-d", str(tmp_path), str(tmp_path / "PickPort.java")], check=True, timeout=120)
    result = ps.run(["java", "-cp", str(tmp_path), "PickPort"], env=ps.preload_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    first, second = (int(p) for p in result.stdout.split())
    assert shimlib.in_range(first, RANGE) and shimlib.in_range(second, RANGE), result.stdout
    assert first != second
