"""API v1 endpoints of the supervision capability (added to the API in sunshine/api/api.py).

- ``GET /api/v1/supervisions`` — projects under leader supervision (领导挂牌督办), with the
  current stage and its deadline; leaders, auditors and administrators.
- ``POST /api/v1/applications/{number}/supervision`` — ``{"reason", "target_date"}``: the
  calling leader takes charge; ``409 already_supervised`` when another supervision is active.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from sunshine.accounts.models import Role
from sunshine.api.common import safe_number, staff
from sunshine.api.schemas import In, IsoDate, Required500
from sunshine.applications import access
from sunshine.supervision import selectors, services

router = Router(tags=["supervision"])

READ_ROLES = {Role.LEADER, Role.AUDITOR, Role.ADMIN}


class SupervisionOut(Schema):
    number: str
    leader: str
    reason: str
    target_date: date
    started_at: datetime
    current_stage: str | None = None
    deadline: date | None = None
    overdue: bool = False
    last_review: date | None = None


class TakeChargeIn(In):
    reason: Required500
    target_date: IsoDate = Field(description="today or later (422 for a day in the past)")


class SupervisionList(Schema):
    results: list[SupervisionOut]


@router.get("/supervisions", response=SupervisionList)
def list_supervisions(request: HttpRequest) -> dict[str, Any]:
    access.require_role(staff(request), {str(r) for r in READ_ROLES})
    return {
        "results": [
            {
                "number": r.number,
                "leader": r.leader.username,
                "reason": r.reason,
                "target_date": r.target_date,
                "started_at": r.started_at,
                "current_stage": r.stage,
                "deadline": r.deadline,
                "overdue": r.overdue,
                "last_review": r.last_review,
            }
            for r in selectors.supervised_projects()
        ]
    }


@router.post("/applications/{number}/supervision", response={201: SupervisionOut})
def take_charge(request: HttpRequest, number: str, payload: TakeChargeIn) -> Status:
    """The calling leader takes charge (403 for anyone else); ``409 already_supervised`` when
    another supervision is active."""
    user = staff(request)
    app = access.access_application(user, safe_number(number))
    s = services.take_charge(app.number, user, reason=payload.reason, target_date=payload.target_date)
    return Status(
        201,
        {
            "number": app.number,
            "leader": user.username,
            "reason": s.reason,
            "target_date": s.target_date,
            "started_at": s.started_at,
        },
    )
