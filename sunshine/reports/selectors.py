"""Reads of reports for the pages (fixed query counts; the snapshot is read, never recomputed)."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from sunshine.accounts import units
from sunshine.accounts.models import User
from sunshine.reports.models import Kind, Report, ReportStatus
from sunshine.reports.sections import PERSONAL


def may_see(user: User, report: Report) -> bool:
    """A report of a unit (a half-month report's ``unit``, an ad-hoc report's filter ``unit``) is
    seen within that unit's subtree; a report of the whole installation by the staff of its top
    unit only."""
    tree = units.tree()
    if report.unit_id is not None:
        return tree.within(report.unit_id, user.unit_id)
    code = (report.filters or {}).get("unit")
    if code:
        node = tree.by_code(str(code))
        return node is not None and tree.within(node.id, user.unit_id)
    return tree.is_top(user.unit_id)


def half_month_reports(unit_id: int | None) -> list[dict[str, Any]]:
    """The half-month reports of one unit: periods newest first, each with its versions newest
    first (1 query)."""
    periods: dict[Any, dict[str, Any]] = {}
    if unit_id is None:
        return []
    qs = Report.objects.filter(kind=Kind.HALF_MONTH, unit_id=unit_id).defer("data")
    for r in qs.order_by("-period_start", "-version"):
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


# The exception class at the head of Report.error -> what a person can do about it.
_DATABASE_ERRORS = {"OperationalError", "DatabaseError", "InterfaceError", "ProgrammingError", "IntegrityError"}
_FILE_ERRORS = {"OSError", "PermissionError", "FileNotFoundError", "IsADirectoryError", "NotADirectoryError"}


def failure_reason(error: str) -> str:
    """Why a report failed, in the user's language, from its stored error ("Class: message")."""
    cls = error.split(":", 1)[0].strip() if error else ""
    if cls == "FontMissing":
        return _(
            "The PDF font is missing: the administrator runs `make install` (or corrects SUNSHINE_PDF_FONT), "
            "then the report is regenerated."
        )
    if cls == "TTFError":
        return _("The PDF font cannot be read: SUNSHINE_PDF_FONT must name a TrueType font file.")
    if cls in _DATABASE_ERRORS:
        return _("The database failed while the report was computed; regenerate it when the database is back.")
    if cls in _FILE_ERRORS:
        return _("The report files could not be written (disk full or no permission on the media directory).")
    return _("An unexpected error stopped the report; the technical detail below helps the administrator.")


def failed_reports(limit: int = 50) -> list[Report]:
    """Failed reports that nothing has replaced yet (a half-month with no later finished version),
    newest first (1 query)."""
    replaced = Report.objects.filter(
        kind=Kind.HALF_MONTH,
        period_start=OuterRef("period_start"),
        version__gt=OuterRef("version"),
        status=ReportStatus.DONE,
    )
    return list(
        Report.objects.filter(status=ReportStatus.FAILED)
        .filter(Q(kind=Kind.ADHOC) | ~Exists(replaced))
        .defer("data")
        .order_by("-created_at", "-id")[:limit]
    )
