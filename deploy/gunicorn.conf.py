"""gunicorn settings for Sunshine's web processes (docs/deploy.md).

    gunicorn -c deploy/gunicorn.conf.py sunshine.wsgi:application

Every figure is bounded and can be set from the environment (the systemd unit reads
/etc/sunshine/env). Database connections held by one machine's web service:
WEB_WORKERS × WEB_THREADS with persistent connections (CONN_MAX_AGE), or
WEB_WORKERS × DB_POOL_MAX with the pool; keep the sum over all machines, workers and
schedulers below PostgreSQL's max_connections.
"""

from __future__ import annotations

import logging
import os
import time


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {value!r}") from None


wsgi_app = "sunshine.wsgi:application"
bind = os.environ.get("WEB_BIND", "127.0.0.1:8000").split(",")
# Threads wait on PostgreSQL most of the time: a few processes with a few threads each.
# Default: one process per core (at least 2), 4 threads each.
workers = _int("WEB_WORKERS", max(2, os.cpu_count() or 1))
worker_class = "gthread"
threads = _int("WEB_THREADS", 4)
# Connections queued beyond the threads before the kernel refuses more (nginx retries another machine).
backlog = _int("WEB_BACKLOG", 256)
worker_connections = _int("WEB_WORKER_CONNECTIONS", 100)
# Recycle a process after this many requests (jitter so they do not all restart together):
# bounds any slow growth of memory.
max_requests = _int("WEB_MAX_REQUESTS", 5000)
max_requests_jitter = _int("WEB_MAX_REQUESTS_JITTER", 500)
# A request running longer than this is killed with its worker (report generation runs in a job,
# not in a request; the largest export streams within it).
timeout = _int("WEB_TIMEOUT", 60)
graceful_timeout = _int("WEB_GRACEFUL_TIMEOUT", 25)
keepalive = _int("WEB_KEEPALIVE", 5)
# The heartbeat file on a tmpfs: a worker blocked on a slow disk is not mistaken for a hung one.
# (/dev/shm is what gunicorn's documentation recommends; the file holds no data.)
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = os.environ.get("WEB_WORKER_TMP_DIR", _SHM if os.path.isdir(_SHM) else None)
# Each worker imports the application itself (no preload): no database connection or thread is
# ever shared across fork, and `systemctl reload` (HUP) picks up new code.
preload_app = False
# nginx on the same machine sets X-Forwarded-For/-Proto; trust them from loopback only.
forwarded_allow_ips = os.environ.get("WEB_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# "-": stdout (the journal); empty: no access log (nginx keeps one).
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
proc_name = "sunshine-web"
# gunicorn ≥ 24's control socket (gunicornc) defaults to one path per user: two instances on one
# machine would take each other's. Off unless WEB_CONTROL_SOCKET names a path of its own.
if os.environ.get("WEB_CONTROL_SOCKET"):
    control_socket = os.environ["WEB_CONTROL_SOCKET"]
    control_socket_disable = False
else:
    control_socket_disable = True


def warm_up() -> float:
    """Load what the first request of a fresh worker would otherwise pay for: the working-day
    calendar (built from the calendar table, 2004 to six years ahead; ≈1 s on a loaded machine)
    and the URL resolver. Returns the seconds it took. Runs with Django set up."""
    from django.db import connections
    from django.urls import get_resolver

    from sunshine.calendar import workdays

    started = time.perf_counter()
    try:
        workdays.current()
        get_resolver().url_patterns  # noqa: B018  (imports every view module)
    finally:
        # The warm-up ran in the worker's main thread; requests run in its other threads and
        # open their own connections. (A caller inside a transaction keeps its connection.)
        for conn in connections.all(initialized_only=True):
            if not conn.in_atomic_block:
                conn.close()
    return time.perf_counter() - started


def post_worker_init(worker) -> None:  # type: ignore[no-untyped-def]
    """After the worker loaded the application (Django is set up) and before it accepts requests.

    (``post_fork`` runs before the application is loaded: too early to touch the database.)
    A failure is logged, not raised: the calendar is then built by the first request instead.
    """
    try:
        seconds = warm_up()
    except Exception:
        logging.getLogger("gunicorn.error").exception("warm-up of worker %s failed", worker.pid)
        return
    worker.log.info("worker %s warmed up in %.2fs", worker.pid, seconds)
