"""API v1 endpoints of the customer-manager evaluation (added to the API in sunshine/api/api.py)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Router, Schema

from sunshine.accounts.models import Role
from sunshine.api.errors import ApiError
from sunshine.applications import access
from sunshine.evaluation.periods import BadPeriod, parse_period
from sunshine.evaluation.selectors import latest_snapshot, snapshot_results

router = Router(tags=["evaluation"])

EVALUATION_READERS: set[str] = {Role.LEADER, Role.AUDITOR, Role.ADMIN}


class EvaluationRow(Schema):
    username: str
    name: str
    area: str | None
    score: float | None
    rank: int | None
    ranked_in_area: int
    veto: bool
    warning: bool
    breakdown: dict[str, Any]


class EvaluationOut(Schema):
    period: str
    version: int
    starts_on: str
    ends_on: str
    frozen_at: str
    rule: dict[str, Any]
    results: list[EvaluationRow]


@router.get("/evaluations/{period}", response=EvaluationOut)
def get_evaluation(
    request: HttpRequest,
    period: str = Path(
        ...,
        pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2]|Q[1-4])$",
        description="a month YYYY-MM or a quarter YYYY-Qn; 404 when no snapshot is frozen for it",
    ),
) -> dict[str, Any]:
    """The latest frozen snapshot of a period (``YYYY-MM`` or ``YYYY-Qn``), best first per area."""
    access.require_role(request.auth, EVALUATION_READERS)  # type: ignore[attr-defined]
    try:
        p = parse_period(period[:16])
    except BadPeriod:
        raise ApiError(
            422,
            "validation_error",
            _("Some fields are not valid."),
            {"period": [_("Enter a month as YYYY-MM or a quarter as YYYY-Qn.")]},
        ) from None
    snapshot = latest_snapshot(p.code)
    if snapshot is None:
        raise Http404
    return {
        "period": snapshot.period,
        "version": snapshot.version,
        "starts_on": snapshot.starts_on.isoformat(),
        "ends_on": snapshot.ends_on.isoformat(),
        "frozen_at": snapshot.frozen_at.isoformat(),
        "rule": snapshot.rule,
        "results": snapshot_results(snapshot),
    }
