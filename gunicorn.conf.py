"""Gunicorn settings for Tiến độ (`make serve`, or `gunicorn -c gunicorn.conf.py wsgi:app`).

Everything comes from the environment:

    BIND              address to listen on (default 127.0.0.1:8000; put a reverse proxy in front)
    WEB_CONCURRENCY   number of worker processes (default 2 x CPU cores + 1, at most 8)
    GUNICORN_TIMEOUT  seconds a request may take before its worker is killed and replaced (default 60)

Sync workers, no preloading: every worker builds its own app and database engine after the fork, so
no connection is ever shared between processes. A worker that dies (killed, timed out) takes only its
own uncommitted transaction with it: the database rolls it back, and the master starts a new worker.
"""

import multiprocessing
import os

MAX_DEFAULT_WORKERS = 8

bind = os.environ.get("BIND") or "127.0.0.1:8000"
default_workers = min(2 * multiprocessing.cpu_count() + 1, MAX_DEFAULT_WORKERS)
workers = int(os.environ.get("WEB_CONCURRENCY") or default_workers)
worker_class = "sync"
preload_app = False
# No gunicornc control socket: its default path ($XDG_RUNTIME_DIR or ~/.gunicorn) is shared by every
# instance of the user; signals (HUP, TERM, TTIN/TTOU) do the same job.
control_socket_disable = True

timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
graceful_timeout = 30  # on SIGTERM/SIGHUP, requests in flight get this long to finish
keepalive = 5

# Recycle workers now and then (jittered so they do not all restart together).
max_requests = 2000
max_requests_jitter = 200

# Both logs on stderr/stdout for the service manager (journald, docker). The access log carries the
# request id the app puts in X-Request-ID, so an access line leads to the app's log lines.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s "%(a)s"'


def post_worker_init(worker):
    """Once the worker has built its app: move everything loaded so far (the app, its templates, the
    parsed process specs) out of the garbage collector's reach. A full collection then walks only what
    requests create, instead of pausing a request for every long-lived object (tens of ms at p95)."""
    import gc

    gc.collect()
    gc.freeze()
