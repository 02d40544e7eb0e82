"""The demo's reports: ``make run`` shows the previous and the current half-month."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from sunshine.reports.models import Report
from sunshine.reports.services import generate_half_month, half_month_of


def ensure_demo_reports(today: date | None = None) -> list[Report]:
    """The previous and the current half-month (so far) for the demo: ``make run`` shows both."""
    today = today or timezone.localdate()
    current, _e = half_month_of(today)
    previous, _e = half_month_of(current - timedelta(days=1))
    return [generate_half_month(s, email=False)[0] for s in (previous, current)]
