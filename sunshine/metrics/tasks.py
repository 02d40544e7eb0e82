"""Background jobs of the metrics app (django-tasks); the schedule is in ``schedule.py``."""

from __future__ import annotations

from django_tasks import task

from sunshine.metrics.services import refresh


@task()
def refresh_statistics() -> int:
    """Fold new events into the statistics; returns the number of applications recomputed."""
    return refresh().applications
