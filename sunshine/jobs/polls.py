"""Work the job workers do when no task is ready: the functions named by
``settings.SUNSHINE_WORKER_POLLS`` (dotted paths of ``poll() -> int``, the number of items
handled; 0 when there was nothing to do). They drain tables that other apps fill in their
transactions (the reactions' outbox, the message table), so no job row is written per item."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("sunshine.jobs.worker")


@cache
def polls() -> tuple[Callable[[], int], ...]:
    return tuple(import_string(path) for path in getattr(settings, "SUNSHINE_WORKER_POLLS", []))


def poll_all() -> int:
    """One round of every poll; returns the items handled in all."""
    return sum(poll() for poll in polls())


def drain_all(max_rounds: int = 10_000) -> int:
    """Poll until nothing is left (tests, commands); returns the items handled."""
    total = 0
    for _ in range(max_rounds):
        done = poll_all()
        if not done:
            break
        total += done
    return total
