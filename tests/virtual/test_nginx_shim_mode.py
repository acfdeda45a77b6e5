"""Shim mode: nginx (dynamic, `listen 8080;`) in two jobs at once, each asked by a client inside
its job at http://127.0.0.1:8080/: each gets its own job's page while an outsider has bound 8080.
The same behaviour as test_nginx_listen_8080.py proves for bpf mode, with the shim rewriting."""
import test_nginx_listen_8080 as nginx_case


def test_nginx_jobs_each_serve_their_own_8080(ps, barrier, tmp_path):
    nginx_case.test_nginx_jobs_each_serve_their_own_8080(ps, "shim", barrier, tmp_path)
