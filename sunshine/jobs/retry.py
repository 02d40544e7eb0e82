"""Retries with back-off for tasks that talk to the outside (django-tasks has none).

Put ``@with_retries(...)`` under ``@task()``::

    @task()
    @with_retries(max_attempts=5, base_delay=60)
    def deliver(message_id: int) -> str: ...

The wrapped task takes an extra keyword ``attempt`` (1 for the first run). When an attempt raises
and attempts remain, the same task is enqueued again with ``run_after`` = now + back-off
(``base_delay`` × 2^(attempt-1), capped at ``max_delay``) and the attempt fails with ``RetryScheduled``
so the job page shows its error; after the last attempt ``on_give_up`` runs and ``GaveUp`` is raised.
Tasks must be idempotent: a retry, or an administrator's "retry" on the job page, may run them again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.module_loading import import_string


class RetryScheduled(Exception):
    """This attempt failed; the next one is queued."""


class GaveUp(Exception):
    """The last attempt failed; nothing more is queued."""


def backoff(attempt: int, base_delay: float, max_delay: float) -> timedelta:
    """Delay after failed attempt ``attempt`` (1-based): base, 2×base, 4×base, … capped."""
    return timedelta(seconds=min(max_delay, base_delay * 2 ** (attempt - 1)))


def with_retries(
    *,
    max_attempts: int | Callable[[], int] = 5,
    base_delay: float | Callable[[], float] = 60,
    max_delay: float = 3600,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    on_retry: Callable[..., None] | None = None,
    on_give_up: Callable[..., None] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``on_retry(*args, error=, attempt=, next_at=, **kwargs)`` and ``on_give_up(*args, error=,
    attempt=, **kwargs)`` let the task record the outcome on its own rows. Callables may be given
    for ``max_attempts``/``base_delay`` so settings are read at run time."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        task_path = f"{func.__module__}.{func.__name__}"

        @functools.wraps(func)
        def wrapper(*args: Any, attempt: int = 1, **kwargs: Any) -> Any:
            try:
                return func(*args, attempt=attempt, **kwargs)
            except retry_on as error:
                limit = max_attempts() if callable(max_attempts) else max_attempts
                base = base_delay() if callable(base_delay) else base_delay
                if attempt >= limit:
                    if on_give_up is not None:
                        on_give_up(*args, error=error, attempt=attempt, **kwargs)
                    raise GaveUp(f"attempt {attempt} of {limit} failed, giving up: {error}") from error
                next_at: datetime = timezone.now() + backoff(attempt, base, max_delay)
                if on_retry is not None:
                    on_retry(*args, error=error, attempt=attempt, next_at=next_at, **kwargs)
                task = import_string(task_path)
                task.using(run_after=next_at).enqueue(*args, attempt=attempt + 1, **kwargs)
                raise RetryScheduled(
                    f"attempt {attempt} of {limit} failed: {error}; attempt {attempt + 1} at {next_at.isoformat()}"
                ) from error

        return wrapper

    return decorate
