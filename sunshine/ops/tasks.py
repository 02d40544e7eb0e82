"""Background jobs of operations (django-tasks); the schedule is in ``schedule.py``."""

from __future__ import annotations

from django_tasks import task

from sunshine.ops.retention import anonymise


@task()
def anonymise_past_retention() -> int:
    return anonymise().applications
