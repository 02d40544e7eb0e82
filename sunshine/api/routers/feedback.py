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

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router

from sunshine.accounts.models import Role, User
from sunshine.api.common import json_body
from sunshine.errors import Forbidden, NotFound, ValidationFailed
from sunshine.feedback import selectors, services
from sunshine.feedback.models import CaseStatus, FollowUp, SupervisionCase

router = Router(tags=["feedback"])

PAGE = 50
SATISFACTION_ROLES: set[str] = {Role.LEADER, Role.AUDITOR, Role.ADMIN}


def _body(request: HttpRequest) -> dict[str, Any]:
    return json_body(request)


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def _require(user: User, roles: set[str]) -> None:
    if user.role not in roles:
        raise Forbidden(_("Your role may not do this."))


def _str(body: dict[str, Any], name: str, max_len: int = 2000) -> str:
    value = body.get(name) or ""
    if not isinstance(value, str):
        raise ValidationFailed({name: [_("Enter text.")]})
    if len(value) > max_len:
        raise ValidationFailed({name: [_("Too long: %(n)s characters at most.") % {"n": max_len}]})
    return value


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


@router.get("/followups")
def followups(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.FOLLOWUP_ROLES)
    return {"results": [_followup_out(f) for f in selectors.followup_queue(user)[:200]]}


@router.post("/followups/{pk}/attempts")
def followup_attempt(request: HttpRequest, pk: int) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.FOLLOWUP_ROLES)
    body = _body(request)
    services.record_attempt(pk, user, result=_str(body, "result", 20), note=_str(body, "note", 300))
    return _followup_out(_load_followup(pk))


def _opt_int(body: dict[str, Any], name: str, errors: dict[str, list[str]]) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = [_("Give a score from 1 to 5.")]
        return None
    return value


def _opt_bool(body: dict[str, Any], name: str, errors: dict[str, list[str]]) -> bool | None:
    value = body.get(name)
    if value is None or isinstance(value, bool):
        return value
    errors[name] = [_("Answer yes or no.")]
    return None


@router.post("/followups/{pk}/result")
def followup_result(request: HttpRequest, pk: int) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.FOLLOWUP_ROLES)
    body = _body(request)
    errors: dict[str, list[str]] = {}
    amount: Decimal | None = None
    if body.get("extra_charge_amount") is not None:
        try:
            amount = Decimal(str(body["extra_charge_amount"]))
        except InvalidOperation:
            errors["extra_charge_amount"] = [_("Give the amount charged, in yuan.")]
    answers = services.Answers(
        sat_overall=_opt_int(body, "sat_overall", errors),
        sat_manager=_opt_int(body, "sat_manager", errors),
        sat_timeliness=_opt_int(body, "sat_timeliness", errors),
        steered_design=_opt_bool(body, "steered_design", errors),
        steered_construction=_opt_bool(body, "steered_construction", errors),
        steered_supply=_opt_bool(body, "steered_supply", errors),
        extra_charge=_opt_bool(body, "extra_charge", errors),
        extra_charge_amount=amount,
        extra_charge_what=_str(body, "extra_charge_what", 200),
        told_once=_opt_bool(body, "told_once", errors),
        comments=_str(body, "comments"),
    )
    if errors:
        raise ValidationFailed(errors)
    services.complete_followup(pk, user, outcome=_str(body, "outcome", 20), answers=answers)
    f = _load_followup(pk)
    cases = SupervisionCase.objects.filter(dedupe_key__startswith=f"followup:{pk}:").order_by("id")
    return {**_followup_out(f), "cases": [c.tracking_number for c in cases]}


@router.get("/cases")
def cases(request: HttpRequest, status: str = "open", page: int = 1) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.CASE_READ_ROLES)
    if status not in CaseStatus.values:
        raise ValidationFailed({"status": [_("Choose one of: %(allowed)s.") % {"allowed": "open, closed"}]})
    page = max(1, min(page, 10**6))
    qs = selectors.case_queue(status=status)
    rows = list(qs[(page - 1) * PAGE : page * PAGE + 1])
    return {
        "page": page,
        "has_next": len(rows) > PAGE,
        "results": [_case_out(c) for c in rows[:PAGE]],
    }


def _case(number: str) -> SupervisionCase:
    c = selectors.case_detail(number[:40])
    if c is None:
        raise NotFound(_("No such case."), "case_not_found")
    return c


@router.get("/cases/{number}")
def case(request: HttpRequest, number: str) -> dict[str, Any]:
    _require(_user(request), services.CASE_READ_ROLES)
    return _case_out(_case(number), notes=True)


@router.post("/cases/{number}/notes")
def case_note(request: HttpRequest, number: str) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.CASE_ROLES)
    c = _case(number)
    services.add_case_note(c.pk, user, _str(_body(request), "text", 5000))
    return _case_out(_case(number), notes=True)


@router.post("/cases/{number}/finding")
def case_finding(request: HttpRequest, number: str) -> dict[str, Any]:
    user = _user(request)
    _require(user, services.CASE_ROLES)
    c = _case(number)
    body = _body(request)
    services.decide_case(c.pk, user, finding=_str(body, "finding", 20), action_taken=_str(body, "action_taken", 5000))
    return _case_out(_case(number), notes=True)


@router.get("/satisfaction")
def satisfaction(request: HttpRequest) -> dict[str, Any]:
    _require(_user(request), SATISFACTION_ROLES)
    params = request.GET
    errors: dict[str, list[str]] = {}
    days: dict[str, date] = {}
    for name in ("from", "to"):
        try:
            days[name] = date.fromisoformat(params.get(name, ""))
        except ValueError:
            errors[name] = [_("Enter a date as YYYY-MM-DD.")]
    if errors:
        raise ValidationFailed(errors)
    filters: dict[str, Any] = {}
    if params.get("manager"):
        who = User.objects.filter(username=params["manager"][:150]).first()
        if who is None:
            raise ValidationFailed({"manager": [str(services.UNKNOWN_STAFF)]})
        filters["manager"] = who
    if params.get("category"):
        filters["category"] = params["category"][:40]
    row = selectors.satisfaction(days["from"], days["to"], **filters)
    return {
        "from": days["from"].isoformat(),
        "to": days["to"].isoformat(),
        **{k: (float(v) if isinstance(v, Decimal) else v) for k, v in row.items()},
    }
