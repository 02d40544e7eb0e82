"""What ``/metrics`` adds to the recorded metrics at scrape time (``sunshine/observe/metrics.py``):
figures read from the database — the job queue, the deadline sweep, the outbox, the scheduler's
lease, the business gauges the office watches — and the process figures of every web worker.

The database figures are the same whichever web process answers: with several web machines,
aggregate them with ``max without (instance, pid)`` (deploy/prometheus/sunshine-rules.yml does).
Each comes from a selector of its domain app (``queue_figures``, ``outbox_figures``,
``sweep_figures``, ``delivery_figures``, ``scheduler_lease_expires_at``) that runs one query on a partial index
of the rows still to do, so its cost follows the queue, not the history; the set is read at
most once per ``SUNSHINE_METRICS_CACHE_SECONDS`` per process (a scrape: six queries or none).
The office's figures (open applications, overdue stages) count every open application: a
periodic job keeps them in the shared cache (below), so a scrape reads one cache key.
When the database cannot be read, ``sunshine_database_up`` is 0 and the database figures are
left out (not reported as zeros, which would look healthy).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sunshine.observe import metrics

logger = logging.getLogger("sunshine.ops.figures")

_lock = threading.Lock()
_cached: tuple[float, list[Metric]] | None = None


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def _gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


def database_figures(now: datetime | None = None) -> list[Metric]:
    """Every database figure, freshly read (raises when the database cannot be read)."""
    from sunshine.applications.selectors import outbox_figures
    from sunshine.jobs.selectors import queue_figures, scheduler_lease_expires_at
    from sunshine.notifications.selectors import delivery_figures
    from sunshine.supervision.selectors import sweep_figures

    now = now or timezone.now()
    local = timezone.localtime(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    out: list[Metric] = []

    q = queue_figures(now)
    jobs = GaugeMetricFamily("sunshine_jobs", "Background jobs by state (queued: due now)", labels=["state"])
    for state in ("queued", "waiting", "running", "failed"):
        jobs.add_metric([state], q[state])
    out += [
        jobs,
        _gauge(
            "sunshine_jobs_oldest_queued_age_seconds",
            "How long the oldest queued job has been due (0: none queued)",
            _age(now, q["oldest_queued"]),
        ),
        _gauge(
            "sunshine_jobs_oldest_running_age_seconds",
            "How long the longest running job has run (0: none running)",
            _age(now, q["oldest_running"]),
        ),
    ]
    lease = scheduler_lease_expires_at()
    out.append(
        _gauge(
            "sunshine_scheduler_lease_expires_timestamp_seconds",
            "When the active scheduler's lease runs out unless renewed (Unix time; 0: never held)",
            lease.timestamp() if lease else 0.0,
        )
    )

    s = sweep_figures(now, since=midnight)
    out += [
        _gauge("sunshine_sweep_rungs_due", "Rungs due and not yet fired by the deadline sweep", s["due"]),
        _gauge(
            "sunshine_sweep_lag_seconds",
            "How long the oldest due rung has waited for the sweep (0: nothing due)",
            _age(now, s["oldest_due"]),
        ),
        _gauge("sunshine_sweep_rungs_fired_today", "Rungs fired since local midnight", s["fired_since"]),
    ]

    o = outbox_figures(now)
    out += [
        _gauge("sunshine_reactions_pending", "Changes whose reactions have not run yet (outbox entries)", o["entries"]),
        _gauge("sunshine_reactions_failing", "Outbox entries whose reactions failed at least once", o["failing"]),
        _gauge(
            "sunshine_reactions_oldest_age_seconds",
            "Age of the oldest change whose reactions have not run (0: none waiting)",
            _age(now, o["oldest"]),
        ),
    ]

    d = delivery_figures()
    messages = GaugeMetricFamily("sunshine_messages", "Outbox messages not sent, by state", labels=["state"])
    for state in ("pending", "sending", "failed"):
        messages.add_metric([state], d[state])
    out += [
        messages,
        _gauge(
            "sunshine_messages_oldest_undelivered_age_seconds",
            "Age of the oldest message not yet delivered (0: none waiting)",
            _age(now, d["oldest_undelivered"]),
        ),
    ]

    out += office_metrics(now)
    return out


# --- the office's figures: kept by a periodic job ---------------------------------------------
# Open applications by status and category and the overdue stages take a count over every open
# application (≈ 1 s at a million applications, measured on the bench database): too much for
# every scrape of every web process. The periodic job ``ops.office_figures`` (every 5 minutes)
# computes them once for the installation and stores them in the shared cache; a scrape reads
# them from there, and computes them itself only when they are missing or older than
# ``SUNSHINE_METRICS_OFFICE_SECONDS`` (a cache flushed, the scheduler down).
OFFICE_KEY = "sunshine:ops:office-figures"


def compute_office_figures(now: datetime | None = None) -> dict[str, Any]:
    from sunshine.applications.selectors import open_counts, overdue_stage_count

    now = now or timezone.now()
    return {
        "at": now.timestamp(),
        "open": [[status, category, n] for (status, category), n in sorted(open_counts().items())],
        "overdue": overdue_stage_count(timezone.localtime(now).date()),
    }


def refresh_office_figures(now: datetime | None = None) -> dict[str, Any]:
    figures = compute_office_figures(now)
    cache.set(OFFICE_KEY, figures, timeout=24 * 3600)
    return figures


def office_figures(now: datetime) -> dict[str, Any]:
    """The stored figures, or fresh ones when they are missing or too old. A cache that cannot be
    read or written (Redis down) costs the count, not the figures."""
    try:
        figures = cache.get(OFFICE_KEY)
    except Exception as exc:
        logger.warning("office figures not read from the cache: %s", (str(exc).strip().splitlines() or [""])[0][:200])
        figures = None
    if not figures or now.timestamp() - figures["at"] > settings.SUNSHINE_METRICS_OFFICE_SECONDS:
        figures = compute_office_figures(now)
        with contextlib.suppress(Exception):
            cache.set(OFFICE_KEY, figures, timeout=24 * 3600)
    return figures


def office_metrics(now: datetime) -> list[Metric]:
    from sunshine.calendar.checks import provisional_years

    local = timezone.localtime(now)
    office = office_figures(now)
    open_ = GaugeMetricFamily(
        "sunshine_applications_open", "Open applications by status and category", labels=["status", "category"]
    )
    for status, category, n in office["open"]:
        open_.add_metric([status, category], n)
    provisional = set(provisional_years())
    calendar = GaugeMetricFamily(
        "sunshine_calendar_year_provisional",
        "1 while a year's holiday notice is not imported (this year and next)",
        labels=["year", "which"],
    )
    calendar.add_metric([str(local.year), "this"], float(local.year in provisional))
    calendar.add_metric([str(local.year + 1), "next"], float(local.year + 1 in provisional))
    return [
        open_,
        _gauge("sunshine_stages_overdue", "Running utility stages past their deadline", office["overdue"]),
        _gauge(
            "sunshine_office_figures_age_seconds",
            "Age of the open-application and overdue figures (computed every 5 minutes)",
            max(0.0, now.timestamp() - office["at"]),
        ),
        calendar,
    ]


def _cached_database_figures() -> list[Metric]:
    global _cached
    ttl = settings.SUNSHINE_METRICS_CACHE_SECONDS
    with _lock:
        if _cached is not None and time.monotonic() - _cached[0] < ttl:
            return _cached[1]
        try:
            figures: list[Metric] = [
                _gauge("sunshine_database_up", "1 when the database answered the last scrape", 1.0)
            ]
            figures += database_figures()
        except Exception as exc:
            logger.warning("database figures unavailable: %s", (str(exc).strip().splitlines() or [""])[0][:200])
            from django.db import connections

            for conn in connections.all(initialized_only=True):
                if not conn.in_atomic_block:
                    conn.close()
            figures = [_gauge("sunshine_database_up", "1 when the database answered the last scrape", 0.0)]
        _cached = (time.monotonic(), figures)
        return figures


def reset() -> None:
    """Forget the figures read so far, the office's included (tests)."""
    global _cached
    with _lock:
        _cached = None
    with contextlib.suppress(Exception):
        cache.delete(OFFICE_KEY)


class DatabaseCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        return _cached_database_figures()


_PID = re.compile(r"_(\d+)\.db$")


class WebProcessesCollector(Collector):
    """``process_*`` figures of each live web worker, labelled with its pid (multiprocess mode
    has no process figures of its own: each scrape is answered by one worker)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def pids(self) -> list[int]:
        found = set()
        for name in os.listdir(self.directory):
            m = _PID.search(name)
            if m:
                found.add(int(m.group(1)))
        return sorted(p for p in found if os.path.exists(f"/proc/{p}"))

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for pid in self.pids():
            for family in ProcessCollector(pid=_constant(pid), registry=None).collect():
                target = families.get(family.name)
                if target is None:
                    target = families[family.name] = Metric(family.name, family.documentation, family.type)
                for sample in family.samples:
                    target.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        yield from families.values()


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid


_database_collector = DatabaseCollector()
_registered = False


def scrape_registry() -> Any:
    """The registry one scrape of ``/metrics`` reads."""
    global _registered
    directory = metrics.multiprocess_dir()
    registry = metrics.registry()
    if directory:
        assert isinstance(registry, CollectorRegistry)
        registry.register(_database_collector)
        registry.register(WebProcessesCollector(directory))
        return registry
    if not _registered:  # the process's own registry keeps its collectors: register once
        registry.register(_database_collector)
        _registered = True
    return registry
