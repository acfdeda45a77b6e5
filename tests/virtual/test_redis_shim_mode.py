"""Shim mode: redis-server --port 6379 and redis-cli (both dynamic) in two jobs at once: each job's
redis-cli reads back its own job's key while an outsider has bound 6379. The same behaviour as
test_redis_6379.py proves for bpf mode, with the shim rewriting."""
import test_redis_6379 as redis_case


def test_redis_jobs_each_keep_their_own_6379(ps, barrier, tmp_path):
    redis_case.test_redis_jobs_each_keep_their_own_6379(ps, "shim", barrier, tmp_path)
