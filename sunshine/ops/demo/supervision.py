"""Demo data of supervision, called at the end of ``manage.py seed_demo`` (idempotent).

- every service area gets a team lead (the second rung of the ladder) if it has none;
- the rung moments of the demo cases, which were bulk-loaded without the engine, are stored;
  moments already past count as fired at their time (the demo's history, no message now);
- one demo case is overdue since today (generated so: ``overdue_today_scenario``), so the
  scheduler's next sweep fires its "overdue" rung (an inbox notification and an SMS line in the
  console) with no manual step;
- the leader takes charge of one open key project, with a note and a progress review.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from sunshine.accounts.models import Role, ServiceArea, User
from sunshine.applications.models import Application, Channel, StageStatus, Status
from sunshine.ops.synthetic import Scenario, StagePlan
from sunshine.processes.models import Category
from sunshine.supervision import moments, rungs
from sunshine.supervision.models import LeaderSupervision, NoteKind, RungMoment

OVERDUE_TODAY = "overdue_today"


def _team_leads() -> int:
    lead = User.objects.filter(username="manager2", is_active=True).first()
    if lead is None:
        return 0
    return ServiceArea.objects.filter(team_lead__isnull=True).update(team_lead=lead)


def overdue_today_scenario() -> Scenario:
    """A fresh demo's case whose first overdue working day is today: a residential survey (2
    working days) started 3 working days ago at the counter, still open. It is generated like
    every demo case (``seed_demo`` builds it with the fixed scenarios, for manager1), so its
    rows and its timeline agree; nothing is moved afterwards."""
    return Scenario(
        OVERDUE_TODAY,
        Category.LV_RESIDENTIAL,
        Channel.COUNTER,
        3,
        {("acceptance", 1): StagePlan(days=0), ("survey", 1): StagePlan(days=60)},
    )


def _overdue_today(now) -> str | None:
    """The demo case overdue since today (the scheduler's next sweep fires its "overdue" rung)."""
    today = timezone.localdate(now)
    if not _is_working_day(today):
        return None
    deadline = rungs.rung_day(today, -1)
    return (
        RungMoment.objects.filter(rung_code="overdue", deadline=deadline, stage__status=StageStatus.IN_PROGRESS)
        .order_by("stage__application__accepted_at", "stage__application__pk")
        .values_list("stage__application__number", flat=True)
        .first()
    )


def _is_working_day(day) -> bool:
    from sunshine.calendar import workdays

    return workdays.is_working_day(day)


def _supervise_one(now) -> str | None:
    from sunshine.supervision import services

    if LeaderSupervision.objects.exists():
        return None
    leader = User.objects.filter(username="leader", role=Role.LEADER, is_active=True).first()
    app = Application.objects.filter(status=Status.IN_PROGRESS, key_project=True).order_by("accepted_at", "pk").first()
    if leader is None or app is None:
        return None
    today = timezone.localdate(now)
    services.take_charge(
        app.number, leader, reason="市重点招商引资项目，领导挂牌督办", target_date=today + timedelta(days=30)
    )
    services.add_note(app.number, leader, text="已协调规划、住建部门并联审批，请客户经理每周报告进展。")
    services.add_note(
        app.number, leader, text="现场勘查完成，供电方案编制中。", kind=NoteKind.REVIEW, reviewed_on=today
    )
    return app.number


def ensure_demo_supervision() -> str:
    now = timezone.now()
    with transaction.atomic():
        leads = _team_leads()
        stored = moments.backfill()
        # before today: history; today's rungs are left for the sweep to fire for real
        start_of_today = rungs.moment_at(timezone.localdate(now)).replace(hour=0, minute=0)
        past = RungMoment.objects.filter(fired_at__isnull=True, due_at__lt=start_of_today).update(fired_at=F("due_at"))
    overdue = _overdue_today(now)
    supervised = _supervise_one(now)
    parts = [f"Supervision: {stored} rung moments stored ({past} of earlier days counted as fired)"]
    if leads:
        parts.append(f"{leads} area team leads set")
    if overdue:
        parts.append(f"{overdue} is overdue today (the next sweep warns its manager and the team lead)")
    if supervised:
        parts.append(f"leader supervises {supervised}")
    return "; ".join(parts) + "."
