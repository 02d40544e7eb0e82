"""What the job status page reads: django-tasks-db's DBTaskResult rows, the scheduler lease and
the periodic jobs. A fixed number of queries whatever the queue length."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from sunshine.jobs.models import Lease, PeriodicRun, TaskRetry
from sunshine.jobs.schedule import discover
from sunshine.jobs.scheduler import LEASE_NAME


@dataclass(frozen=True)
class JobRow:
    id: str
    name: str
    path: str
    status: str
    args: str
    enqueued_at: datetime
    run_after: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    error_class: str
    error_line: str
    traceback: str
    retried_as: str | None
    args_kwargs: dict[str, Any]
    exception_class_path: str


def _args(args_kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args_kwargs.get("args", [])]
    parts += [f"{k}={v!r}" for k, v in args_kwargs.get("kwargs", {}).items()]
    return ", ".join(parts)[:200]


def _row(r: DBTaskResult[..., Any], retried: dict[str, str]) -> JobRow:
    lines = [line for line in (r.traceback or "").strip().splitlines() if line.strip()]
    return JobRow(
        id=str(r.id),
        name=r.task_path.rsplit(".", 1)[-1],
        path=r.task_path,
        status=r.status,
        args=_args(r.args_kwargs or {}),
        enqueued_at=r.enqueued_at,
        run_after=None if r.run_after.year == 9999 else r.run_after,
        started_at=r.started_at,
        finished_at=r.finished_at,
        error_class=r.exception_class_path.rsplit(".", 1)[-1],
        error_line=lines[-1] if lines else "",
        traceback=r.traceback,
        retried_as=retried.get(str(r.id)),
        args_kwargs=r.args_kwargs or {},
        exception_class_path=r.exception_class_path,
    )


FIELDS = [
    "id",
    "task_path",
    "status",
    "args_kwargs",
    "enqueued_at",
    "run_after",
    "started_at",
    "finished_at",
    "exception_class_path",
    "traceback",
]


def job_overview(limit: int = 50) -> dict[str, Any]:
    """Counts by status, the next queued jobs, the running ones and the latest failures."""
    counts = {s: 0 for s in TaskResultStatus.values}
    for status, n in DBTaskResult.objects.order_by().values_list("status").annotate(n=Count("id")):
        counts[status] = n
    queued = list(DBTaskResult.objects.ready().only(*FIELDS).order_by("run_after", "enqueued_at")[:limit])
    waiting = list(
        DBTaskResult.objects.filter(status=TaskResultStatus.READY, run_after__gt=timezone.now())
        .exclude(run_after__year=9999)
        .only(*FIELDS)
        .order_by("run_after")[:limit]
    )
    running = list(DBTaskResult.objects.running().only(*FIELDS).order_by("started_at")[:limit])
    failed = list(DBTaskResult.objects.failed().only(*FIELDS).order_by("-finished_at")[:limit])
    retried = dict(
        TaskRetry.objects.filter(original_id__in=[str(r.id) for r in failed]).values_list("original_id", "new_id")
    )
    return {
        "counts": counts,
        "queued": [_row(r, {}) for r in queued],
        "waiting": [_row(r, {}) for r in waiting],
        "running": [_row(r, {}) for r in running],
        "failed": [_row(r, retried) for r in failed],
    }


@dataclass(frozen=True)
class PeriodicRow:
    name: str
    cron: str
    task: str
    last_slot: datetime | None


def scheduler_overview() -> dict[str, Any]:
    """The lease holder (None when no scheduler ran yet) and every periodic job with its last slot."""
    lease = Lease.objects.filter(name=LEASE_NAME).first()
    jobs = discover()
    last = dict(
        PeriodicRun.objects.filter(name__in=[j.name for j in jobs])
        .values_list("name")
        .annotate(last=Max("slot"))
        .order_by()
    )
    return {
        "lease": lease,
        "lease_alive": bool(lease and lease.expires_at > timezone.now()),
        "periodic": [PeriodicRow(j.name, j.cron, j.task, last.get(j.name)) for j in jobs],
    }


def queue_figures(now: datetime) -> dict[str, Any]:
    """The job queue as the operations team watches it (``/metrics``), in one query over the rows
    not yet successful: queued (due now), waiting (a retry or a job scheduled for later),
    running, failed, and since when the oldest queued job has been due and the oldest running
    one has run (None when there is none)."""
    never = get_date_max()
    ready = Q(status=TaskResultStatus.READY)
    row = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING, TaskResultStatus.FAILED]
    ).aggregate(
        queued=Count("pk", filter=ready & (Q(run_after=never) | Q(run_after__lte=now))),
        waiting=Count("pk", filter=ready & Q(run_after__gt=now) & ~Q(run_after=never)),
        running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
        failed=Count("pk", filter=Q(status=TaskResultStatus.FAILED)),
        # due since it was enqueued (no run_after) or since its run_after (a retry, a slot)
        oldest_enqueued=Min("enqueued_at", filter=ready & Q(run_after=never)),
        oldest_scheduled=Min("run_after", filter=ready & Q(run_after__lte=now)),
        oldest_running=Min("started_at", filter=Q(status=TaskResultStatus.RUNNING)),
    )
    due = [t for t in (row["oldest_enqueued"], row["oldest_scheduled"]) if t is not None]
    return {
        "queued": row["queued"],
        "waiting": row["waiting"],
        "running": row["running"],
        "failed": row["failed"],
        "oldest_queued": min(due) if due else None,
        "oldest_running": row["oldest_running"],
    }


def scheduler_lease_expires_at() -> datetime | None:
    """When the active scheduler's lease runs out (None: no scheduler ever ran)."""
    return Lease.objects.filter(name=LEASE_NAME).values_list("expires_at", flat=True).first()
