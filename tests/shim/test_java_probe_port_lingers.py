"""Java's pick-a-port idiom under the shim: `new ServerSocket(0)` binds *and listens*, the program
reads getLocalPort() and closes, then hands the number on. Listening served no one, so the port
lingers for the job: a process of another job is refused it (EADDRINUSE, Java's BindException)
while a process of the picking job can still take it."""
import shutil

import pytest

import shimlib

RANGE = (24800, 24815)

# One single-file source program (`java Probe.java ...`), two modes:
#   pick       new ServerSocket(0) -> prints the port -> close (the idiom)
#   bind PORT  new ServerSocket(PORT): prints "ok", or "refused" and the exception
SOURCE = """
import java.net.BindException;
import java.net.ServerSocket;
public class Probe {
    public static void main(String[] args) throws Exception {
        if (args[0].equals("pick")) {
            int port;
            try (ServerSocket probe = new ServerSocket(0)) {
                port = probe.getLocalPort();
            }
            System.out.println(port);
            return;
        }
        try (ServerSocket server = new ServerSocket(Integer.parseInt(args[1]))) {
            System.out.println("ok");
        } catch (BindException e) {
            System.out.println("refused " + e.getMessage());
        }
    }
}
"""


def run_java(ps, source, args, job):
    result = ps.run(["java", str(source)] + args, env=ps.preload_env(PORTSAFE_JOB_ID=job), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@pytest.mark.skipif(shutil.which("java") is None, reason="Java is not installed (scripts/install-deps.sh)")
def test_server_socket_zero_port_is_kept_for_the_job_after_close(ps, tmp_path):
    ps.set_range(*RANGE)
    source = tmp_path / "Probe.java"
    source.write_text(SOURCE)
    with shimlib.job_leader() as job, shimlib.job_leader() as other_job:
        port = int(run_java(ps, source, ["pick"], job))
        assert shimlib.in_range(port, RANGE), port
        table = shimlib.Table(ps.runtime_dir)
        assert table.state(port) == "linger", "listened on but never served: the number must linger for the job"

        stolen = run_java(ps, source, ["bind", str(port)], other_job)
        assert stolen.startswith("refused") and "in use" in stolen, "another job took the handed-on number: " + stolen

        taken = run_java(ps, source, ["bind", str(port)], job)
        assert taken == "ok", "the job's own server could not take its number: " + taken
