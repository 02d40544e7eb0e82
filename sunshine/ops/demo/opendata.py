"""The demo's open data: the previous half-month's report published by the administrator and
the daily fingerprints of the last two weeks, so /open-data/ and /open-data/audit/ show what
they are for (they were empty in a fresh demo)."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from sunshine.accounts.models import Role, User
from sunshine.applications.audit import publish_digest
from sunshine.reports.models import Report
from sunshine.reports.services import publish


def ensure_demo_open_data(reports: list[Report], today: date | None = None, days: int = 14) -> str:
    today = today or timezone.localdate()
    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    published = 0
    if admin is not None:
        for report in reports[:1]:  # the previous half-month: finished, so worth publishing
            report.refresh_from_db()
            if report.is_done and not report.published_at:
                publish(report.pk, actor=admin)
                published += 1
    for back in range(days, 0, -1):
        publish_digest(today - timedelta(days=back))
    return f"Open data: {published} report published, fingerprints of the last {days} days."
