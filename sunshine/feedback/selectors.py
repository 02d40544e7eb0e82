"""Reads of cases, follow-up calls and visits (for pages, the evaluation, statistics and reports)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Avg, Case, Count, Exists, OuterRef, Q, QuerySet, Value, When

from sunshine.accounts.models import Role, User
from sunshine.feedback.models import (
    CaseKind,
    CaseStatus,
    Finding,
    FollowUp,
    FollowUpOutcome,
    FollowUpStatus,
    SupervisionCase,
    Visit,
    VisitAction,
    VisitStatus,
)

# Kinds the evaluation counts (a pause contest is about the pause, not about conduct).
EVALUATED_KINDS = (CaseKind.COMPLAINT, CaseKind.STEERING, CaseKind.OVERCHARGE)


# --- cases -------------------------------------------------------------------------------------


def case_queue(*, status: str = CaseStatus.OPEN, source: str | None = None) -> QuerySet[SupervisionCase]:
    """Open cases by due date (overdue first); closed ones most recent first."""
    qs = SupervisionCase.objects.select_related("application", "manager")
    if source:
        qs = qs.filter(source=source)
    if status == CaseStatus.OPEN:
        return qs.filter(status=CaseStatus.OPEN).order_by("due_on", "id")
    return qs.filter(status=CaseStatus.CLOSED).order_by("-closed_at", "-id")


def case_detail(tracking_number: str) -> SupervisionCase | None:
    return (
        SupervisionCase.objects.select_related("application", "manager", "pause", "opened_by", "closed_by")
        .prefetch_related("notes__author")
        .filter(tracking_number=tracking_number)
        .first()
    )


def _upheld(from_date: date, to_date: date) -> QuerySet[SupervisionCase]:
    return SupervisionCase.objects.filter(
        finding=Finding.UPHELD, kind__in=EVALUATED_KINDS, closed_on__gte=from_date, closed_on__lte=to_date
    )


def upheld_findings(manager: User, from_date: date, to_date: date) -> dict[str, int]:
    """Upheld cases about ``manager`` decided (closed) in [from_date, to_date], by kind:
    ``{"complaint": n, "steering": n, "overcharge": n}``. Open or not-upheld cases count nothing."""
    rows = _upheld(from_date, to_date).filter(manager=manager).values("kind").annotate(n=Count("id"))
    counts = {r["kind"]: r["n"] for r in rows}
    return {kind: counts.get(kind, 0) for kind in EVALUATED_KINDS}


def upheld_findings_by_manager(from_date: date, to_date: date) -> dict[int, dict[str, int]]:
    """``upheld_findings`` for every manager at once (one query): {manager id: counts}."""
    out: dict[int, dict[str, int]] = {}
    rows = _upheld(from_date, to_date).filter(manager__isnull=False).values("manager", "kind")
    for manager_id, kind, n in rows.annotate(n=Count("id")).values_list("manager", "kind", "n"):
        out.setdefault(manager_id, {k: 0 for k in EVALUATED_KINDS})[kind] = n
    return out


def upheld_cases(manager: User, from_date: date, to_date: date) -> list[dict[str, Any]]:
    """The upheld cases behind ``upheld_findings`` (what an evaluation shows as the reason)."""
    return [
        {
            "tracking_number": c.tracking_number,
            "kind": c.kind,
            "subject": c.subject,
            "closed_on": c.closed_on,
            "action_taken": c.action_taken,
        }
        for c in _upheld(from_date, to_date).filter(manager=manager).order_by("closed_on", "id")
    ]


# --- follow-up calls ---------------------------------------------------------------------------


def followup_queue(user: User) -> QuerySet[FollowUp]:
    """Open calls of ``user`` (and the unassigned ones, for clerks and administrators), due first."""
    qs = FollowUp.objects.filter(status=FollowUpStatus.OPEN).select_related("application", "assigned_to")
    if user.role == Role.ADMIN:
        return qs.order_by("due_on", "id")
    return qs.filter(Q(assigned_to=user) | Q(assigned_to__isnull=True)).exclude(manager=user).order_by("due_on", "id")


def _avg(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def satisfaction(from_date: date, to_date: date, **filters: Any) -> dict[str, Any]:
    """Results of the follow-up calls closed in [from_date, to_date].

    ``filters``: ``manager`` (a User or id), ``area`` (a ServiceArea or id), ``category``.
    Returns ``calls`` (closed calls), ``completed`` (surveys answered), ``unreachable``,
    ``refused``, ``wrong_number``; averages (1–5, two decimals, None without surveys)
    ``overall``, ``manager``, ``timeliness``; counts ``steered`` and ``overcharged``, and
    ``told_once`` (surveys saying missing items were told at once).
    """
    qs = FollowUp.objects.filter(status=FollowUpStatus.DONE, completed_on__gte=from_date, completed_on__lte=to_date)
    if filters.get("manager") is not None:
        qs = qs.filter(manager=filters["manager"])
    if filters.get("area") is not None:
        qs = qs.filter(application__area=filters["area"])
    if filters.get("category"):
        qs = qs.filter(application__category=filters["category"])
    done = Q(outcome=FollowUpOutcome.COMPLETED)
    row = qs.aggregate(
        calls=Count("id"),
        completed=Count("id", filter=done),
        unreachable=Count("id", filter=Q(outcome=FollowUpOutcome.UNREACHABLE)),
        refused=Count("id", filter=Q(outcome=FollowUpOutcome.REFUSED)),
        wrong_number=Count("id", filter=Q(outcome=FollowUpOutcome.WRONG_NUMBER)),
        overall=Avg("sat_overall", filter=done),
        manager=Avg("sat_manager", filter=done),
        timeliness=Avg("sat_timeliness", filter=done),
        steered=Count(
            "id", filter=done & (Q(steered_design=True) | Q(steered_construction=True) | Q(steered_supply=True))
        ),
        overcharged=Count("id", filter=done & Q(extra_charge=True)),
        told_once=Count("id", filter=done & Q(told_once=True)),
    )
    for key in ("overall", "manager", "timeliness"):
        row[key] = _avg(row[key])
    return row


# --- visits ------------------------------------------------------------------------------------


def visit_list() -> QuerySet[Visit]:
    """Planned visits first (key customers first, then by date), then the logged ones."""
    return (
        Visit.objects.select_related("visitor", "application")
        .annotate(
            done=Case(When(status=VisitStatus.PLANNED, then=Value(0)), default=Value(1)),
            open_actions=Count("actions", filter=Q(actions__closed_at__isnull=True)),
        )
        .order_by("done", "-key_customer", "planned_on", "id")
    )


def open_actions(owner: User | None = None) -> QuerySet[VisitAction]:
    qs = VisitAction.objects.filter(closed_at__isnull=True).select_related("visit", "owner")
    if owner is not None:
        qs = qs.filter(owner=owner)
    return qs.order_by("due_on", "id")


def upheld_pause_contests(from_date: date, to_date: date) -> list[dict[str, Any]]:
    """Pauses the auditors found were *not* the customer's fault (upheld pause contests decided
    in [from_date, to_date]): the evaluation may count their working days as utility time."""
    rows = (
        SupervisionCase.objects.filter(
            kind=CaseKind.PAUSE_CONTEST,
            finding=Finding.UPHELD,
            closed_on__gte=from_date,
            closed_on__lte=to_date,
            pause__isnull=False,
        )
        .select_related("pause", "pause__stage", "application")
        .order_by("closed_on", "id")
    )
    return [
        {
            "tracking_number": c.tracking_number,
            "number": c.application.number if c.application else None,
            "manager_id": c.manager_id,
            "pause_id": c.pause_id,
            "stage": c.pause.stage.code if c.pause else None,
            "started_on": c.pause.started_on if c.pause else None,
            "ended_on": c.pause.ended_on if c.pause else None,
            "working_days": c.pause.working_days if c.pause else None,
            "closed_on": c.closed_on,
        }
        for c in rows
    ]


def key_customers_to_visit(today: date, *, days: int = 90, limit: int = 20) -> list[Any]:
    """Open key projects with no visit planned or made in the last ``days`` days (or planned
    ahead): the customers to plan visits for first. One query."""
    from datetime import timedelta

    from sunshine.applications.models import OPEN_STATUSES, Application

    recent = Visit.objects.filter(application=OuterRef("pk"), planned_on__gte=today - timedelta(days=days)).exclude(
        status=VisitStatus.CANCELLED
    )
    return list(
        Application.objects.filter(key_project=True, status__in=OPEN_STATUSES)
        .exclude(Exists(recent))
        .select_related("customer_manager")
        .order_by("accepted_at", "id")[:limit]
    )
