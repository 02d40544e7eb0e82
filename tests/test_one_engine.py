"""One engine: the synthetic data generator (sunshine/ops/synthetic.py) plans an application
through the same rules as the services (sunshine/applications/rules.py), so the same dated
actions give the same rows: stages (limits, deadlines, pauses, send-back rounds, skips), pauses,
events, the holder of each utility stage, the final state and the rung moments of a running stage,
written by the generator's bulk writer (COPY on PostgreSQL)."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from sunshine.accounts.models import User
from sunshine.applications import services
from sunshine.applications.audit import verify
from sunshine.applications.models import Application, Event, Pause, StageInstance, StageStatus
from sunshine.applications.validation import validate_intake
from sunshine.calendar import workdays
from sunshine.ops.synthetic import AppRow, Built, Calendar, CustomerRow, Simulation, save_batch
from sunshine.processes.models import StageTemplate
from sunshine.supervision.models import RungMoment
from tests.conftest import intake_body

TZ = ZoneInfo("Asia/Shanghai")
OPEN_OR_PENDING = (StageStatus.PENDING, StageStatus.IN_PROGRESS)

# (when, action, actor, arguments): the same list is played through the services (at that
# time) and through the generator's simulation.
HV_STORY: list[tuple[str, str, str, dict[str, Any]]] = [
    ("2026-10-14 10:00", "pause", "alice", {"reason_code": "customer_request", "reason": "客户要求暂缓现场勘查"}),
    ("2026-10-19 10:00", "resume", "alice", {}),
    ("2026-10-22 11:00", "complete", "alice", {"code": "scheme"}),
    ("2026-10-26 09:00", "complete", "alice", {"code": "customer_design"}),
    (
        "2026-10-28 15:00",
        "complete",
        "engineer",
        {"code": "design_review", "outcome": "failed", "defects": ["接地系统设计不满足规范要求"], "note": "一次性告知"},
    ),
    ("2026-11-02 09:30", "complete", "alice", {"code": "customer_design"}),
    ("2026-11-03 10:00", "skip", "alice", {"code": "design_review", "reason": "复审无需进行"}),
    ("2026-11-04 10:00", "skip", "alice", {"code": "mid_inspection", "reason": "供电方案确定无需此环节"}),
    ("2026-11-09 10:00", "complete", "alice", {"code": "customer_construction"}),
    ("2026-11-12 10:00", "complete", "alice", {"code": "customer_completion"}),
    ("2026-11-13 16:00", "pause", "engineer", {"reason_code": "missing_documents", "reason": "客户竣工资料待补充"}),
]
LV_STORY: list[tuple[str, str, str, dict[str, Any]]] = [
    ("2026-10-13 09:00", "complete", "clerk", {"code": "acceptance"}),
    ("2026-10-15 10:00", "pause", "alice", {"reason_code": "government_approval", "reason": "等待规划许可审批"}),
    ("2026-10-21 10:00", "cancel", "alice", {"reason": "客户申请撤销报装"}),
]
# Ends with a utility stage running: its rung moments are compared too.
RUNNING_STORY: list[tuple[str, str, str, dict[str, Any]]] = [
    ("2026-10-13 10:00", "complete", "alice", {"code": "survey"}),
]


def _at(when: str) -> datetime:
    return datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


def _through_services(body: dict[str, Any], accepted: str, story: list, users: dict[str, User]) -> Application:
    with time_machine.travel(_at(accepted), tick=False):
        app = services.intake(validate_intake(body, _at(accepted).date()), users["clerk"]).application
    for when, action, who, args in story:
        actor = users[who]
        with time_machine.travel(_at(when), tick=False):
            if action == "complete":
                services.complete_stage(app.number, args.pop("code"), actor, **args)
            elif action == "skip":
                services.skip_stage(app.number, args["code"], actor, reason=args["reason"])
            elif action == "pause":
                services.pause(app.number, actor, **args)
            elif action == "resume":
                services.resume(app.number, actor)
            elif action == "cancel":
                services.cancel(app.number, actor, reason=args["reason"])
    return Application.objects.get(pk=app.pk)


def _through_the_generator(serviced: Application, accepted: str, story: list, users: dict[str, User]) -> Application:
    """The same story on the generator's plain records, saved with its bulk writer."""
    customer = serviced.customer
    templates = sorted(StageTemplate.objects.filter(process=serviced.process), key=lambda t: t.position)
    row = CustomerRow(customer.id_type, customer.id_number, customer.name, customer.phone)
    app = AppRow(
        number="YK2610120000018",
        category=serviced.category,
        business_type=serviced.business_type,
        channel=serviced.channel,
        customer=row,
        customer_name=serviced.customer_name,
        contact_phone=serviced.contact_phone,
        address=serviced.address,
        area_id=serviced.area_id,
        requested_capacity=Decimal(serviced.requested_capacity),
        capacity_unit=serviced.capacity_unit,
        key_project=serviced.key_project,
        customer_manager_id=serviced.customer_manager_id,
        process_id=serviced.process_id,
        accepted_at=_at(accepted),
    )
    workdays.add_working_days(_at(accepted).date(), 200)
    sim = Simulation(app, templates, _at(story[-1][0]), Calendar(workdays.current()))
    manager = serviced.customer_manager
    sim.intake(
        users["clerk"],
        {
            "channel": serviced.channel,
            "category": serviced.category,
            "process_version": serviced.process.version,
            "customer_manager": manager.username if manager else None,
            "possible_duplicate_of": None,
        },
    )
    for when, action, who, args in story:
        actor, at = users[who], _at(when)
        if action == "complete":
            stage = sim.current()
            assert stage is not None and stage.code == args["code"]
            sim.complete(
                stage, at, actor, outcome=args.get("outcome"), defects=args.get("defects"), note=args.get("note", "")
            )
        elif action == "skip":
            stage = next(s for s in sim.stages if s.code == args["code"] and s.status in OPEN_OR_PENDING)
            sim.skip(stage, at, actor, args["reason"])
        elif action == "pause":
            sim.pause(at, actor, args["reason_code"], args["reason"])
        elif action == "resume":
            sim.resume(at, actor)
        elif action == "cancel":
            sim.cancel(at, actor, args["reason"])
    save_batch([Built(row, app, sim.stages, sim.pauses, sim.events)], random.Random(1), moments=True)
    return Application.objects.get(number=app.number)


def _rows(app: Application) -> dict[str, Any]:
    stage_fields = [
        "seq",
        "code",
        "round",
        "owner",
        "status",
        "template_id",
        "time_limit_days",
        "started_at",
        "started_on",
        "completed_at",
        "completed_on",
        "paused_working_days",
        "deadline",
        "deadline_provisional",
        "outcome",
        "defects",
        "note",
        "manager_id",
    ]
    return {
        "application": (
            app.status,
            app.current_stage,
            app.completed_at,
            app.cancelled_at,
            app.accepted_at,
            app.customer_id,
        ),
        "stages": list(StageInstance.objects.filter(application=app).order_by("seq").values_list(*stage_fields)),
        "pauses": list(
            Pause.objects.filter(application=app)
            .order_by("started_at")
            .values_list(
                "stage__code",
                "stage__round",
                "reason_code",
                "reason",
                "started_at",
                "started_on",
                "ended_at",
                "ended_on",
                "working_days",
                "paused_by_id",
                "resumed_by_id",
            )
        ),
        "events": list(
            Event.objects.filter(application=app)
            .order_by("id")
            .values_list("type", "at", "actor_id", "stage", "round", "data")
        ),
        "moments": list(
            RungMoment.objects.filter(stage__application=app)
            .order_by("stage__seq", "due_at", "rung_code")
            .values_list("stage__seq", "rung_code", "due_at", "deadline")
        ),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("category", "channel", "accepted", "story", "final", "events"),
    [
        (
            "hv_single",
            "counter",
            "2026-10-12 09:00",
            HV_STORY,
            ("paused", "completion_inspection"),
            "intake stage_started stage_completed stage_started paused resumed stage_completed stage_started "
            "stage_completed stage_started stage_completed stage_started stage_completed stage_started "
            "stage_skipped stage_started stage_skipped stage_completed stage_started stage_completed "
            "stage_started paused",
        ),
        (
            "lv_residential",
            "online",
            "2026-10-12 15:00",
            LV_STORY,
            ("cancelled", None),
            "intake stage_started stage_completed stage_started paused cancelled",
        ),
        (
            "lv_residential",
            "counter",
            "2026-10-12 15:00",
            RUNNING_STORY,
            ("in_progress", "connection"),
            "intake stage_started stage_completed stage_started stage_completed stage_started",
        ),
    ],
)
def test_a_generated_application_is_the_one_the_services_write(
    personas, category, channel, accepted, story, final, events
):
    body = intake_body(category=category, channel=channel)
    if category == "hv_single":
        body.update(requested_capacity=630, capacity_unit="kVA")
    serviced = _through_services(body, accepted, [(w, a, u, dict(x)) for w, a, u, x in story], personas)
    generated = _through_the_generator(serviced, accepted, story, personas)

    expected, got = _rows(serviced), _rows(generated)
    assert expected["application"][:2] == final
    assert " ".join(e[0] for e in expected["events"]) == events
    if category == "hv_single":
        # the scheme: 15 working days from 12 October, plus 3 paused (15, 16 and 19 October)
        scheme = next(s for s in expected["stages"] if s[1] == "scheme")
        assert (scheme[6], scheme[11], scheme[12]) == (15, 3, date(2026, 11, 5))
    assert got["application"] == expected["application"]
    assert got["stages"] == expected["stages"]
    assert got["pauses"] == expected["pauses"]
    assert got["events"] == expected["events"]
    assert got["moments"] == expected["moments"]
    if final[0] == "in_progress":
        running = next(s for s in expected["stages"] if s[4] == "in_progress")
        assert running[-1] == personas["alice"].pk  # the holder: the application's manager
        assert [m[1] for m in expected["moments"]] == ["due_soon", "due_today", "overdue", "overdue_3"]
        # Generated history: the moments already due count as fired (the first sweep after a
        # load fires only what falls due after it).
        assert not RungMoment.objects.filter(stage__application=generated, fired_at__isnull=True).exists()
    assert verify(stop_at_first=False) == []  # both audit chains hold
