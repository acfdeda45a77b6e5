"""The seccomp handler killed mid-job (it runs in portsafe-run: SIGKILL it) leaves no process of
the job hanging in bind(): a Go program that goes on binding (it ignores the SIGTERM the launcher's
death sends) gets a clear error, ENOSYS, within a bounded time and exits on its own; once the job's
processes are gone, `portsafe gc` leaves none of its claims."""
import shlex
import signal
import subprocess

import interceptlib as il
import portsafe_testlib as tl

RANGE = (31000, 31039)


def test_killed_handler_fails_binds_with_enosys_and_nothing_hangs(ps, go_worker):
    ps.set_range(*RANGE)
    script = f"{shlex.quote(go_worker)} -mode loop -rounds 0"
    job = subprocess.Popen([ps.program("portsafe-run"), "--intercept", "seccomp", "--job", "victim", "--", "sh", "-c", script],
                           env=ps.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        reader = il.LineReader(job)
        served = reader.until(lambda line: len(line) > 0, timeout=30)
        for _ in range(4):
            served += reader.until(lambda line: True, timeout=10)
        assert len(served) == 5 and all(line.startswith("ok ") for line in served), served
        assert all(RANGE[0] <= int(line.split()[1]) <= RANGE[1] for line in served), served

        job.send_signal(signal.SIGKILL)  # portsafe-run, and the handler with it
        job.wait(timeout=10)
        after = reader.until(lambda line: line.startswith("error:"), timeout=20)
        assert after and after[-1].startswith("error: ENOSYS"), f"binds after the handler died: {after[-5:]}"
        # The worker exits on its error: the pipe it shares with the launcher closes.
        assert reader.until(lambda line: False, timeout=20) == [] and reader.ended, "the worker did not end"

        assert ps.run([ps.program("portsafe"), "gc"], timeout=30).returncode == 0
        left = tl.wait_for(lambda: not [e for e in il.status_entries(ps) if e["job"] == "victim"], timeout=10)
        assert left, il.status_entries(ps)
    finally:
        il.end_group(job)
