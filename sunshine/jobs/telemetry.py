"""What a worker records of the jobs it runs: the scope of its log lines (the job's name and the
id of the request that enqueued it, ``sunshine/jobs/backend.py``) and the job metrics of
``sunshine/observe/metrics.py`` (started, finished by outcome, run time, wait, rungs fired by the
sweep). Connected to django-tasks' ``task_started``/``task_finished`` signals, which the worker
sends around each job in the thread that runs it. (Reactions and messages, which workers take
from their tables without a job, count themselves: ``applications/outbox.py``,
``notifications/tasks.py``.)"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from contextvars import Token
from typing import Any

from django.utils import timezone
from django_tasks.signals import task_finished, task_started

from sunshine.observe import context, metrics

logger = logging.getLogger("sunshine.jobs")

_local = threading.local()

# Tasks whose return value counts something the operations team watches.
SWEEP_TASK = "sunshine.supervision.tasks.sweep_deadlines"


def _name(task_result: Any) -> str:
    return str(task_result.task.module_path).rsplit(".", 1)[-1]


def _stored(task_result: Any) -> dict[str, Any]:
    row = getattr(task_result, "db_result", None)
    stored = getattr(row, "args_kwargs", None)
    return stored if isinstance(stored, dict) else {}


def _outcome(task_result: Any) -> str:
    if str(task_result.status) == "SUCCESSFUL":
        return "successful"
    errors = getattr(task_result, "errors", None) or []
    path = errors[-1].exception_class_path if errors else ""
    return "retry" if path.endswith(".RetryScheduled") else "failed"


def on_started(sender: Any, task_result: Any, **kwargs: Any) -> None:
    name = _name(task_result)
    request_id = _stored(task_result).get("request_id")
    scope = context.Scope(request_id=request_id if isinstance(request_id, str) else "", job=name)
    token: Token[context.Scope | None] = context.enter(scope)
    _local.running = (token, time.perf_counter())
    metrics.JOBS_STARTED.labels(name).inc()
    started = task_result.started_at or timezone.now()
    row = getattr(task_result, "db_result", None)
    run_after = getattr(row, "run_after", None)
    due = task_result.enqueued_at
    if run_after is not None and run_after.year < 9999 and (due is None or run_after > due):
        due = run_after
    if due is not None:
        metrics.JOB_WAIT.labels(name).observe(max(0.0, (started - due).total_seconds()))


def on_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    name = _name(task_result)
    outcome = _outcome(task_result)
    running = getattr(_local, "running", None)
    _local.running = None
    metrics.JOBS_FINISHED.labels(name, outcome).inc()
    if running is not None:
        metrics.JOB_DURATION.labels(name).observe(time.perf_counter() - running[1])
    path = str(task_result.task.module_path)
    if path == SWEEP_TASK and outcome == "successful":
        fired = task_result.return_value
        if isinstance(fired, int):
            metrics.SWEEP_FIRED.inc(fired)
        metrics.SWEEP_LAST.set(time.time())
    logger.info("job %s %s", name, outcome, extra={"task": name, "outcome": outcome})
    if running is not None:
        # (finished in another context than it started: nothing to undo)
        with contextlib.suppress(ValueError):
            context.leave(running[0])


def connect() -> None:
    task_started.connect(on_started, dispatch_uid="sunshine.jobs.telemetry.started")
    task_finished.connect(on_finished, dispatch_uid="sunshine.jobs.telemetry.finished")
