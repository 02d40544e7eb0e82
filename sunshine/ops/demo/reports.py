"""The demo's reports: ``make run`` shows the previous and the current half-month, and the
previous half-month of 太原 and of 晋源区 (each unit's own report, the units below it ranked)."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from sunshine.accounts.models import Unit
from sunshine.reports.models import Report
from sunshine.reports.services import generate_half_month, half_month_of


def ensure_demo_reports(today: date | None = None) -> list[Report]:
    """The previous and the current half-month (so far) for the demo: ``make run`` shows both."""
    today = today or timezone.localdate()
    current, _e = half_month_of(today)
    previous, _e = half_month_of(current - timedelta(days=1))
    reports = [generate_half_month(s, email=False)[0] for s in (previous, current)]
    for unit in Unit.objects.filter(code__in=DEMO_REPORT_UNITS):
        generate_half_month(previous, email=False, unit=unit)
    return reports


# The units whose own half-month the demo stores (the scheduler does every city and county).
DEMO_REPORT_UNITS = ("ty", "ty-jinyuan")
