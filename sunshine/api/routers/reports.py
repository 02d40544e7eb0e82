"""API v1 endpoints of the reports capability (added to the API in sunshine/api/api.py): the stored
snapshots, read-only (generation stays with the scheduler, the command and the pages)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from sunshine.accounts.models import Role
from sunshine.applications import access
from sunshine.errors import Forbidden
from sunshine.reports import selectors
from sunshine.reports.models import Report, ReportStatus

router = Router(tags=["reports"])

REPORT_READERS: set[str] = {Role.LEADER, Role.AUDITOR, Role.ADMIN}


class ReportSummary(Schema):
    id: int
    kind: str
    period_start: str
    period_end: str
    version: int
    reason: str
    generated_at: str | None
    # The unit the report covers (with everything below it); null: the whole installation.
    unit: str | None = None


class ReportOut(ReportSummary):
    data: dict[str, Any]


def _summary(r: Report) -> dict[str, Any]:
    code = (r.filters or {}).get("unit")
    return {
        "unit": str(code) if code else None,
        "id": r.pk,
        "kind": r.kind,
        "period_start": r.period_start.isoformat(),
        "period_end": r.period_end.isoformat(),
        "version": r.version,
        "reason": r.reason,
        "generated_at": r.generated_at.isoformat() if r.generated_at else None,
    }


@router.get("/reports", response=list[ReportSummary])
def list_reports(request: HttpRequest) -> list[dict[str, Any]]:
    """Finished reports of the caller's units, newest period first (at most 100): the half-month
    reports of their unit and the units below it, the ad-hoc reports of those units (the whole
    installation's: its top unit's staff)."""
    user = request.auth  # type: ignore[attr-defined]
    access.require_role(user, REPORT_READERS)
    qs = Report.objects.filter(status=ReportStatus.DONE).defer("data").order_by("-period_start", "-version", "-id")
    qs = access.scope_to_units(qs.filter(unit__isnull=False), user) | qs.filter(unit__isnull=True)
    return [_summary(r) for r in qs[:300] if selectors.may_see(user, r)][:100]


@router.get("/reports/{report_id}", response=ReportOut)
def get_report(request: HttpRequest, report_id: int) -> dict[str, Any]:
    """One report's frozen snapshot: every section's headers, rows and chart data."""
    access.require_role(request.auth, REPORT_READERS)  # type: ignore[attr-defined]
    report = Report.objects.filter(pk=report_id, status=ReportStatus.DONE).first()
    if report is None:
        raise Http404
    if not selectors.may_see(request.auth, report):  # type: ignore[attr-defined]
        raise Forbidden(_("This report is of a unit outside yours."))
    return {**_summary(report), "data": report.data}
