"""nginx with `listen 8080;` in two jobs at once, each asked by a client inside its job at
http://127.0.0.1:8080/: each gets its own job's page, while an outsider has bound 8080 itself.
Both modes (nginx is dynamic, so the shim rewrites its calls in shim mode)."""
import os
import shutil

import pytest

import virtuallib as vl
import portsafe_testlib as tl

ASK = tl.PYTHON + " -c \"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/', timeout=5).read().decode())\""


def nginx_config(directory, job_id):
    os.makedirs(directory)
    path = os.path.join(directory, "nginx.conf")
    with open(path, "w") as f:
        f.write(f"""daemon off;
master_process off;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{}}
http {{
  access_log off;
  client_body_temp_path {directory}/body;
  proxy_temp_path {directory}/proxy;
  fastcgi_temp_path {directory}/fastcgi;
  uwsgi_temp_path {directory}/uwsgi;
  scgi_temp_path {directory}/scgi;
  server {{
    listen 8080;
    location / {{ return 200 "{job_id}"; }}
  }}
}}
""")
    return path


def test_nginx_jobs_each_serve_their_own_8080(ps, mode, barrier, tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(nginx, os.X_OK):
        pytest.skip("nginx is not installed (scripts/install-deps.sh installs nginx-light)")
    outsider = vl.Outsider(8080)
    try:
        jobs = {}
        for i in ("a", "b"):
            directory = str(tmp_path / f"nginx-{i}")
            config = nginx_config(directory, i)
            jobs[i] = vl.virtual_run(ps, mode, f"nginx-{i}", ["8080"],
                                     ["sh", os.path.join(vl.HERE, "programs", "serve_then_ask.sh"), i, barrier, ASK,
                                      "--", nginx, "-p", directory, "-c", config, "-e", f"{directory}/error.log"])
        with vl.jobs_at_barrier(jobs, barrier):
            assert vl.ask(8080) == "outsider"
        results = {i: vl.result_of(proc) for i, proc in jobs.items()}
    finally:
        outsider.close()
    for i, seen in results.items():
        assert seen["reply"] == i, f"job {i}'s client got nginx page {seen['reply']!r}"
