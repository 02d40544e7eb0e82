"""Demo data for the two promises of the customer-manager system (``seed_demo``):

- 三不指定: customers' contractor choices of last month (design, construction, supply, from the
  neutral-order directory), so the concentration monitor has something to show. 孙强 (manager3)
  steers: most of his customers "chose" the same units, and one of them answered "suggested by
  staff" on the portal, which opened a steering case (稽查).
- 末位淘汰: the months before this one frozen as evaluations. 孙强's steering was upheld in each
  (a veto), so he is at the bottom of 晋源区's three managers twice running and the latest
  evaluation carries his elimination warning with the explanation of every point.

Generated rows bypass the services, like the rest of the demo; the choices are written as the
portal writes them (a row and a ``contractor_chosen`` event each). Idempotent.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from sunshine.accounts.models import User
from sunshine.applications import events as ev
from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Event
from sunshine.directory.models import ChoiceChannel, Contractor, ContractorChoice, ContractorKind
from sunshine.evaluation.models import EvaluationSnapshot
from sunshine.evaluation.periods import period_containing
from sunshine.evaluation.services import freeze
from sunshine.feedback import services as feedback
from sunshine.feedback.models import SupervisionCase

STEERING_MANAGER = "manager3"


def _month_before(day):
    last = day.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def ensure_demo_choices(seed: int = 20261127) -> str:
    if ContractorChoice.objects.exists():
        return "Demo contractor choices already present."
    tz = timezone.get_current_timezone()
    now = timezone.now()
    first, last = _month_before(timezone.localdate(now))
    window_end = datetime.combine(last, time(17, 0), tzinfo=tz)
    units = {k: list(Contractor.objects.filter(kind=k, active=True).order_by("pk")) for k in ContractorKind.values}
    if not all(units.values()):
        return "Demo contractor choices: no units to choose from."
    apps = list(
        Application.objects.filter(accepted_at__lt=window_end, customer_manager__isnull=False)
        .annotate(last_at=Max("events__at"))
        .select_related("customer_manager")
        .order_by("-accepted_at", "pk")[:90]
    )
    rng = random.Random(seed)
    rows: list[ContractorChoice] = []
    events: list[Event] = []
    told = False  # one of the steering manager's customers says staff suggested the unit
    for app in apps:
        # after everything already on the timeline (events stay in order), within last month
        at = max(app.last_at + timedelta(minutes=5), datetime.combine(first, time(10, 0), tzinfo=tz))
        if at > window_end:
            continue
        manager = app.customer_manager
        assert manager is not None
        steering = manager.username == STEERING_MANAGER
        for kind, choices in units.items():
            unit = choices[0] if steering and rng.random() < 0.85 else rng.choice(choices)
            suggested = steering and not told and unit == choices[0]
            told = told or suggested
            rows.append(
                ContractorChoice(
                    application=app,
                    kind=kind,
                    contractor=unit,
                    recorded_at=at,
                    manager=manager,
                    suggested_by_staff=suggested,
                    channel=ChoiceChannel.PORTAL,
                )
            )
            events.append(
                ev.new(
                    app,
                    EventType.CONTRACTOR_CHOSEN,
                    at,
                    None,
                    kind=kind,
                    contractor=unit.name,
                    credit_code=unit.credit_code,
                    replaced=None,
                    suggested_by_staff=suggested,
                    channel=ChoiceChannel.PORTAL,
                    manager=manager.username,
                )
            )
    with transaction.atomic():
        ContractorChoice.objects.bulk_create(rows)
        ev.record(events)
        for choice in rows:
            if choice.suggested_by_staff:
                feedback.steering_case_for(choice, None)
    return f"Demo contractor choices: {len(rows)} recorded in {first:%Y-%m}."


def ensure_demo_evaluation() -> str:
    """Freeze the two months before this one; 孙强's steering upheld in each."""
    today = timezone.localdate()
    latest = period_containing(today.replace(day=1) - timedelta(days=1), "month")
    periods = [latest.previous(), latest]
    if EvaluationSnapshot.objects.filter(period=latest.code).exists():
        return "Demo evaluations already frozen."
    steering = User.objects.filter(username=STEERING_MANAGER).first()
    auditor = User.objects.filter(username="auditor").first()
    if steering is None or auditor is None:
        return "Demo evaluations: no demo accounts."
    tz = timezone.get_current_timezone()
    for period in periods:
        # about the manager's pattern of choices (like the monitor's cases), not one application
        case = feedback.open_case(
            source="concentration",
            kind="steering",
            subject=f"{period.code} 设计、施工单位集中于同一家",
            details="客户经理所办项目中同一设计、施工单位占比明显高于全区平均，回访中两位客户表示系客户经理推荐。",
            manager=steering,
            dedupe_key=f"demo:steering:{period.code}",
        )
        if case.closed_on is None:
            case = feedback.decide_case(case.pk, auditor, finding="upheld", action_taken="约谈客户经理，责令整改")
        closed = min(period.ends_on, today)
        SupervisionCase.objects.filter(pk=case.pk).update(
            closed_on=closed, closed_at=datetime.combine(closed, time(16, 0), tzinfo=tz)
        )
    for period in periods:
        freeze(period, reason="演示数据")
    return f"Demo evaluations: {periods[0].code} and {periods[1].code} frozen."
