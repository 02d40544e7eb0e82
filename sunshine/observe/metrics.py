"""The Prometheus metrics each process records (prometheus_client).

Web processes run under gunicorn in *multiprocess mode*: ``deploy/gunicorn.conf.py`` points
``PROMETHEUS_MULTIPROC_DIR`` at a directory it empties at start, each worker writes its figures
into its own files there, and ``/metrics`` (``sunshine/ops/telemetry.py``) adds them up, so two
or twenty workers answer as one. A ``db_worker`` serves its own figures on
``--metrics-port`` (``serve``). Figures read from the database (queue, sweep, outbox, business)
are not here: ``/metrics`` computes them at scrape time (``sunshine/ops/figures.py``).

Labels are bounded: ``route`` is the URL pattern (``workbench/applications/<str:number>/``),
never the path, and every unresolved path is ``<unmatched>``; ``task`` is a task's function name.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0)

# --- web requests ---------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "sunshine_http_requests",
    "HTTP requests answered, by route, method and status",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "sunshine_http_request_duration_seconds",
    "Time from the first middleware to the response, by route pattern and method",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_DB_QUERIES = Counter(
    "sunshine_http_db_queries", "Database queries run while answering requests, by route pattern", ["route"]
)

# --- database (every process) ---------------------------------------------------------------------
DB_QUERIES = Counter("sunshine_db_queries", "Database queries run, by connection alias", ["alias"])
DB_QUERY_ERRORS = Counter("sunshine_db_query_errors", "Database queries that raised, by connection alias", ["alias"])
DB_DURATION = Histogram(
    "sunshine_db_query_duration_seconds",
    "Time of one database query, by alias",
    ["alias"],
    buckets=QUERY_BUCKETS,
)

# --- jobs (recorded by the worker that runs them) -------------------------------------------------
JOBS_STARTED = Counter("sunshine_jobs_started", "Jobs a worker started, by task", ["task"])
JOBS_FINISHED = Counter(
    "sunshine_jobs_finished",
    "Jobs finished, by task and outcome (successful, failed, retry)",
    ["task", "outcome"],
)
JOB_DURATION = Histogram("sunshine_job_duration_seconds", "Run time of one job, by task", ["task"], buckets=JOB_BUCKETS)
JOB_WAIT = Histogram(
    "sunshine_job_wait_seconds",
    "Time a job waited between becoming due and being started, by task",
    ["task"],
    buckets=JOB_BUCKETS,
)
SWEEP_FIRED = Counter("sunshine_sweep_rungs_fired", "Rungs of the escalation ladder fired by the deadline sweep")
SWEEP_LAST = Gauge(
    "sunshine_sweep_last_success_timestamp_seconds",
    "When a deadline sweep last finished without error (Unix time)",
    multiprocess_mode="max",
)
REACTION_ENTRIES = Counter(
    "sunshine_reaction_entries",
    "Outbox entries whose reactions ran (done) or failed and wait for a retry (failed)",
    ["outcome"],
)
MESSAGES_DELIVERED = Counter(
    "sunshine_messages_delivered", "Outbox messages handled by delivery, by outcome (sent, retry, failed)", ["outcome"]
)

_served: dict[int, Any] = {}
_lock = threading.Lock()


def multiprocess_dir() -> str | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return path if path and os.path.isdir(path) else None


def registry() -> CollectorRegistry:
    """What a scrape of this process reads: every worker's files in multiprocess mode (a new
    registry per scrape, as prometheus_client requires), else this process's own registry."""
    if multiprocess_dir():
        reg = CollectorRegistry()
        MultiProcessCollector(reg)
        return reg
    return REGISTRY


def serve(port: int, addr: str = "127.0.0.1") -> None:
    """Serve this process's figures over HTTP from a background thread (the worker's exporter).
    Once per process; a second call with the same port is a no-op."""
    with _lock:
        if port in _served:
            return
        _served[port] = start_http_server(port, addr=addr, registry=registry())
