"""API v1 endpoints of the feedback capability (added to the API in sunshine/api/api.py).

- ``GET /followups`` — the caller's open follow-up calls (clerk, admin).
- ``POST /followups/{id}/attempts`` ``{"result", "note"}`` — an unanswered call.
- ``POST /followups/{id}/result`` ``{"outcome", "sat_overall", ..., "comments"}`` — close the call.
- ``GET /cases?status=open|closed&page=N`` — supervision cases (auditor, leader, admin), open ones
  by due date (overdue first), 50 a page.
- ``GET /cases/{tracking_number}``; ``POST /cases/{tracking_number}/notes`` ``{"text"}``;
  ``POST /cases/{tracking_number}/finding`` ``{"finding", "action_taken"}`` (auditor, admin).
- ``GET /satisfaction?from=YYYY-MM-DD&to=YYYY-MM-DD[&manager=username&category=…]`` (leader,
  auditor, admin) — the results of the follow-up calls closed in the period.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from pydantic import Field

from sunshine.accounts import units
from sunshine.accounts.models import Role, User
from sunshine.api.schemas import (
    NO_NUL,
    Category,
    In,
    IsoDate,
    JsonInt,
    QueryIn,
    Required5000,
    Text200,
    Text300,
    Text2000,
)
from sunshine.applications import access
from sunshine.applications.models import Application
from sunshine.errors import Forbidden, NotFound, ValidationFailed
from sunshine.feedback import selectors, services
from sunshine.feedback.models import FollowUp, SupervisionCase

router = Router(tags=["feedback"])


# --- schemas ------------------------------------------------------------------------------------


class AttemptIn(In):
    result: Literal["no_answer", "busy", "powered_off", "call_back"]
    note: Text300 = ""


class ResultIn(In):
    """A ``completed`` survey needs every score (1-5) and every yes/no answer, and with
    ``extra_charge`` the amount and what it was for (422 otherwise); the other outcomes take
    none of them."""

    outcome: Literal["completed", "refused", "wrong_number"]
    sat_overall: JsonInt | None = Field(None, ge=1, le=5)
    sat_manager: JsonInt | None = Field(None, ge=1, le=5)
    sat_timeliness: JsonInt | None = Field(None, ge=1, le=5)
    steered_design: bool | None = None
    steered_construction: bool | None = None
    steered_supply: bool | None = None
    extra_charge: bool | None = None
    # yuan, as a number or a decimal text ("150.50"); above 0 when extra_charge (422)
    extra_charge_amount: Decimal | None = Field(None, ge=0, le=1_000_000_000, strict=False)
    extra_charge_what: Text200 = ""
    told_once: bool | None = None
    comments: Text2000 = ""


class FollowUpOut(Schema):
    id: int
    number: str
    customer_name: str
    contact_phone: str
    due_on: str
    status: str
    attempts: int
    outcome: str | None
    assigned_to: str | None


class FollowUpList(Schema):
    results: list[FollowUpOut]


class FollowUpDone(FollowUpOut):
    cases: list[str]


class CaseNoteOut(Schema):
    at: str
    author: str | None
    text: str


class CaseOut(Schema):
    tracking_number: str
    source: str
    kind: str
    subject: str
    details: str
    number: str | None
    manager: str | None
    opened_on: str
    due_on: str
    status: Literal["open", "closed"]
    finding: str | None
    action_taken: str
    closed_on: str | None


class CaseDetail(CaseOut):
    notes: list[CaseNoteOut]


class CasePage(Schema):
    page: int
    has_next: bool
    results: list[CaseOut]


class CasesQuery(QueryIn):
    status: Literal["open", "closed"] = "open"
    page: int = Field(1, description="pages beyond the last are empty; below 1 reads as 1")


class NoteIn(In):
    text: Required5000


class FindingIn(In):
    finding: Literal["upheld", "not_upheld"]
    action_taken: Required5000 = Field(description="what was done, or why nothing needs to be done")


class SatisfactionQuery(QueryIn):
    from_date: IsoDate = Field(alias="from")
    to_date: IsoDate = Field(alias="to")
    manager: str | None = Field(
        None, max_length=150, pattern=NO_NUL, description="a staff username (422 for an unknown one)"
    )
    category: Category | None = None


PAGE = 50
SATISFACTION_ROLES: set[str] = {Role.LEADER, Role.AUDITOR, Role.ADMIN}


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _require(user: User, roles: set[str]) -> None:
    if user.role not in roles:
        raise Forbidden(_("Your role may not do this."))


def _followup_out(f: FollowUp) -> dict[str, Any]:
    app = f.application
    return {
        "id": f.pk,
        "number": app.number,
        "customer_name": app.customer_name,
        "contact_phone": app.contact_phone,
        "due_on": f.due_on.isoformat(),
        "status": f.status,
        "attempts": f.attempts,
        "outcome": f.outcome or None,
        "assigned_to": f.assigned_to.username if f.assigned_to else None,
    }


def _case_out(c: SupervisionCase, *, notes: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tracking_number": c.tracking_number,
        "source": c.source,
        "kind": c.kind,
        "subject": c.subject,
        "details": c.details,
        "number": c.application.number if c.application else None,
        "manager": c.manager.username if c.manager else None,
        "opened_on": c.opened_on.isoformat(),
        "due_on": c.due_on.isoformat(),
        "status": c.status,
        "finding": c.finding or None,
        "action_taken": c.action_taken,
        "closed_on": c.closed_on.isoformat() if c.closed_on else None,
    }
    if notes:
        out["notes"] = [
            {"at": n.at.isoformat(), "author": n.author.username if n.author else None, "text": n.text}
            for n in c.notes.all()
        ]
    return out


def _load_followup(pk: int) -> FollowUp:
    f = FollowUp.objects.select_related("application", "assigned_to").filter(pk=pk).first()
    if f is None:
        raise NotFound(_("No such follow-up call."), "followup_not_found")
    return f


def _in_unit(user: User, app: Application | None) -> None:
    """A follow-up or case of an application outside the caller's unit is refused (one with no
    application: the top unit's staff only), as on the staff pages."""
    top = units.tree().top
    if not access.in_scope(user, app.unit_id if app is not None else top):
        raise Forbidden(_("This unit is outside yours."))


def _followup_in_unit(user: User, pk: int) -> None:
    f = FollowUp.objects.select_related("application").filter(pk=pk).first()
    if f is not None:
        _in_unit(user, f.application)


@router.get("/followups", response=FollowUpList)
def followups(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.FOLLOWUP_ROLES)
    rows = access.scope_to_units(selectors.followup_queue(user), user, "application__unit")
    return {"results": [_followup_out(f) for f in rows[:200]]}


@router.post("/followups/{pk}/attempts", response=FollowUpOut)
def followup_attempt(
    request: HttpRequest, payload: AttemptIn, pk: int = Path(..., ge=1, le=2**63 - 1)
) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.FOLLOWUP_ROLES)
    _followup_in_unit(user, pk)
    services.record_attempt(pk, user, result=payload.result, note=payload.note)
    return _followup_out(_load_followup(pk))


@router.post("/followups/{pk}/result", response=FollowUpDone)
def followup_result(request: HttpRequest, payload: ResultIn, pk: int = Path(..., ge=1, le=2**63 - 1)) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.FOLLOWUP_ROLES)
    _followup_in_unit(user, pk)
    amount = payload.extra_charge_amount
    answers = services.Answers(
        sat_overall=payload.sat_overall,
        sat_manager=payload.sat_manager,
        sat_timeliness=payload.sat_timeliness,
        steered_design=payload.steered_design,
        steered_construction=payload.steered_construction,
        steered_supply=payload.steered_supply,
        extra_charge=payload.extra_charge,
        extra_charge_amount=amount,
        extra_charge_what=payload.extra_charge_what,
        told_once=payload.told_once,
        comments=payload.comments,
    )
    services.complete_followup(pk, user, outcome=payload.outcome, answers=answers)
    f = _load_followup(pk)
    cases = SupervisionCase.objects.filter(dedupe_key__startswith=f"followup:{pk}:").order_by("id")
    return {**_followup_out(f), "cases": [c.tracking_number for c in cases]}


@router.get("/cases", response=CasePage)
def cases(request: HttpRequest, filters: Query[CasesQuery]) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.CASE_READ_ROLES)
    page = max(1, min(filters.page, 10**6))
    qs = access.scope_to_units(selectors.case_queue(status=filters.status), user, "application__unit")
    rows = list(qs[(page - 1) * PAGE : page * PAGE + 1])
    return {
        "page": page,
        "has_next": len(rows) > PAGE,
        "results": [_case_out(c) for c in rows[:PAGE]],
    }


def _case(number: str, user: User) -> SupervisionCase:
    c = selectors.case_detail(number[:40])
    if c is None:
        raise NotFound(_("No such case."), "case_not_found")
    _in_unit(user, c.application)
    return c


@router.get("/cases/{number}", response=CaseDetail)
def case(request: HttpRequest, number: str) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.CASE_READ_ROLES)
    return _case_out(_case(number, user), notes=True)


@router.post("/cases/{number}/notes", response=CaseDetail)
def case_note(request: HttpRequest, number: str, payload: NoteIn) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.CASE_ROLES)
    c = _case(number, user)
    services.add_case_note(c.pk, user, payload.text)
    return _case_out(_case(number, user), notes=True)


@router.post("/cases/{number}/finding", response=CaseDetail)
def case_finding(request: HttpRequest, number: str, payload: FindingIn) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.CASE_ROLES)
    c = _case(number, user)
    services.decide_case(c.pk, user, finding=payload.finding, action_taken=payload.action_taken)
    return _case_out(_case(number, user), notes=True)


@router.get("/satisfaction", response=dict[str, Any])
def satisfaction(request: HttpRequest, filters: Query[SatisfactionQuery]) -> dict[str, Any]:
    _require(_user(request), SATISFACTION_ROLES)
    query: dict[str, Any] = {}
    if filters.manager:
        who = User.objects.filter(username=filters.manager).first()
        if who is None:
            raise ValidationFailed({"manager": [str(services.UNKNOWN_STAFF)]})
        query["manager"] = who
    if filters.category:
        query["category"] = filters.category
    row = selectors.satisfaction(filters.from_date, filters.to_date, **query)
    return {
        "from": filters.from_date.isoformat(),
        "to": filters.to_date.isoformat(),
        **{k: (float(v) if isinstance(v, Decimal) else v) for k, v in row.items()},
    }
