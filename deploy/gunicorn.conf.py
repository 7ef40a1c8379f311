"""gunicorn settings for infocity behind nginx (docs/deployment.md, "gunicorn").

Read by ``gunicorn --config /opt/infocity/deploy/gunicorn.conf.py`` in deploy/systemd/infocity-web.service. Every
value can be changed in the environment file (deploy/infocity.env.example) without editing this file:

- ``GUNICORN_BIND``: where gunicorn listens. ``127.0.0.1:8000`` when nginx runs on the same machine; the machine's
  internal address (e.g. ``10.0.1.11:8000``) when nginx on another machine proxies to several app machines — then
  only the proxy may reach that port (firewall), because the app trusts the proxy's X-Forwarded-* headers.
- ``GUNICORN_WORKERS``: worker processes; default 2 × CPU cores + 1.
- ``GUNICORN_THREADS``: threads per worker; 1 (sync workers) by default. More than 1 switches to the gthread worker;
  every thread holds its own database connection, so count them in the PostgreSQL connection budget.
- ``GUNICORN_TIMEOUT``: seconds a request may take before its worker is killed (nginx's proxy_read_timeout is a
  little longer). Long work (analysis reports, large imports and exports) runs in the task worker, not here.
- ``GUNICORN_MAX_REQUESTS``: a worker is replaced after this many requests, which bounds slow memory growth from the
  PDF and chart libraries; 0 turns it off.
"""

from __future__ import annotations

import multiprocessing
import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "infocity.wsgi:application"
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]

workers = _env_int("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1)
threads = _env_int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _env_int("GUNICORN_TIMEOUT", 120)
# On `systemctl stop` or `reload` a worker finishes the request it is serving for up to this long.
graceful_timeout = 30
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max_requests // 10  # workers are not all replaced at the same moment
# nginx buffers whole requests and responses, so a slow client never holds a sync worker.
# The heartbeat file lives in memory: on a disk-backed /tmp its fchmod can stall a worker (gunicorn's FAQ).
worker_tmp_dir = "/dev/shm"  # noqa: S108 - per-worker heartbeat file, not data

# Headers gunicorn itself trusts (only for wsgi.url_scheme); Django reads X-Forwarded-Proto and X-Forwarded-For
# through its own settings. The list is the address of nginx; FORWARDED_ALLOW_IPS in the environment file sets it.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs go to standard error, which systemd hands to journald (and rsyslog forwards to the log server). nginx keeps
# the access log, so gunicorn writes none.
errorlog = "-"
accesslog = None
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
capture_output = False
proc_name = "infocity-web"

# No runtime control socket (gunicornc): under systemd it would be written in the service user's home, and the
# number of workers is changed in the environment file followed by `systemctl restart infocity-web`.
control_socket_disable = True
