"""Background jobs of operations (django-tasks); the schedule is in ``schedule.py``."""

from __future__ import annotations

from django_tasks import task

from sunshine.ops.retention import anonymise


@task()
def anonymise_past_retention() -> int:
    return anonymise().applications


@task()
def refresh_office_figures() -> int:
    """Open applications and overdue stages for /metrics (sunshine/ops/figures.py); returns the
    number of open applications."""
    from sunshine.ops import figures

    return sum(n for _status, _category, n in figures.refresh_office_figures()["open"])
