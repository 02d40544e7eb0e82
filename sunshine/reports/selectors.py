"""Reads of reports for the pages (fixed query counts; the snapshot is read, never recomputed)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from sunshine.reports.models import Kind, Report, ReportStatus
from sunshine.reports.sections import PERSONAL


def half_month_reports() -> list[dict[str, Any]]:
    """Periods newest first, each with its versions newest first (1 query)."""
    periods: dict[Any, dict[str, Any]] = {}
    for r in Report.objects.filter(kind=Kind.HALF_MONTH).defer("data").order_by("-period_start", "-version"):
        entry = periods.setdefault(r.period_start, {"start": r.period_start, "end": r.period_end, "versions": []})
        entry["versions"].append(r)
    return list(periods.values())


def adhoc_reports(limit: int = 50) -> list[Report]:
    return list(
        Report.objects.filter(kind=Kind.ADHOC).defer("data").select_related("requested_by").order_by("-id")[:limit]
    )


def page_sections(report: Report, *, public: bool = False) -> list[dict[str, Any]]:
    """The sections to show; ``public``: only the published, non-personal ones."""
    out = []
    for sec in report.data.get("sections", []):
        if public and (sec["key"] in PERSONAL or sec["key"] not in report.published_sections):
            continue
        out.append({**sec, "chart_id": f"chart-{sec['key']}"})
    return out


def published_reports() -> QuerySet[Report]:
    return (
        Report.objects.filter(status=ReportStatus.DONE, published_at__isnull=False)
        .defer("data")
        .order_by("-period_start", "-version")
    )
