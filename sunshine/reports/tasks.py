"""Background jobs of reports (django-tasks). Jobs take ids and are idempotent."""

from __future__ import annotations

from django_tasks import task


@task()
def build_report(report_id: int) -> str:
    """Build a queued (ad-hoc) report; a report already started or done is left alone."""
    from sunshine.reports.services import run_pending

    report = run_pending(report_id)
    return report.status if report else "missing"


@task()
def generate_due_report() -> int:
    """The half-month that ended yesterday: run at 00:10 on the 1st and the 16th (see schedule.py)."""
    from sunshine.reports.services import generate_due

    return generate_due().pk


@task()
def generate_unit_report(unit_id: int, start: str) -> int:
    """The half-month report of one unit below the top (enqueued by ``generate_due``); idempotent."""
    from datetime import date

    from sunshine.reports.services import generate_half_month

    report, _created = generate_half_month(date.fromisoformat(start), unit=unit_id)
    return report.pk
