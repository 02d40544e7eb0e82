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
import shutil
import tempfile
import time
from typing import Any


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
_PRODUCTION = os.environ.get("SUNSHINE_ENV", "trial").strip().lower() == "production"
# "-": stdout (the journal); empty: no access log. Production default: none, because every
# request is already one JSON line of the application's own (logger sunshine.request, with the
# request id, route, status, duration and user id; docs/deploy.md#logs).
accesslog = os.environ.get("WEB_ACCESS_LOG", "" if _PRODUCTION else "-") or None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
# gunicorn's own lines (start, workers booted or killed) in the application's format: JSON lines
# in production (LOG_FORMAT, as in sunshine/settings.py).
if os.environ.get("LOG_FORMAT", "json" if _PRODUCTION else "plain").strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "sunshine.observe.logs.JsonFormatter"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
            "error_console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "gunicorn.error": {"level": loglevel.upper(), "handlers": ["error_console"], "propagate": False},
            # with a logging configuration gunicorn always logs access: only where one is wanted
            "gunicorn.access": {"level": "INFO", "handlers": ["console"] if accesslog else [], "propagate": False},
        },
    }

# Probes and scrapes are not requests anyone reads: kept out of the access log.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _access_logger() -> type:
    from gunicorn.glogging import Logger

    class AccessLogger(Logger):
        def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
            if environ.get("PATH_INFO") not in QUIET_PATHS:
                super().access(resp, req, environ, request_time)

    return AccessLogger


logger_class = _access_logger()
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


# --- Prometheus metrics of the web processes (sunshine/observe/metrics.py) ----------------------
# Multiprocess mode: each worker writes its figures into files of one directory and /metrics adds
# every worker's up, so the figures are the service's whatever worker answers a scrape.
# WEB_METRICS_DIR names the directory (emptied at start: figures of an earlier run must not be
# added in); default: a directory of this server's own under /dev/shm, removed when it stops.
_metrics_dir_is_ours = False


def _metrics_dir() -> str:
    global _metrics_dir_is_ours
    configured = os.environ.get("WEB_METRICS_DIR", "")
    if configured:
        return configured
    _metrics_dir_is_ours = True
    return tempfile.mkdtemp(prefix="sunshine-metrics-", dir=_SHM if os.path.isdir(_SHM) else None)


def on_starting(server: Any) -> None:
    """In the master, before the first worker is forked (workers inherit the environment)."""
    path = _metrics_dir()
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    server.log.info("metrics of the workers in %s", path)


def child_exit(server: Any, worker: Any) -> None:
    """A worker stopped (recycled, killed, reloaded): its live gauges no longer count; its
    counters stay in the sums, so nothing the service did is forgotten."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if _metrics_dir_is_ours and path:
        shutil.rmtree(path, ignore_errors=True)
