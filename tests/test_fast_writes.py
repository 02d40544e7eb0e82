"""The raw writes of the engine's hot paths (sunshine/applications/writes.py) write exactly the
rows the ORM path writes, and the same audit chains, on SQLite and PostgreSQL.

Each walk runs twice, once per path, on two customers who differ only in ID number, phone and
address; everything else the engine writes is compared column by column (keys aside).
November 2026 has no holidays."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import time_machine

from sunshine.applications import services
from sunshine.applications.audit import verify
from sunshine.applications.models import Application, Event, Pause, StageInstance
from sunshine.applications.validation import resident_id_check_character, validate_intake
from sunshine.notifications.models import Message
from sunshine.supervision.models import RungMoment
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


def rid(i: int) -> str:
    first17 = f"11010519491231{i:03d}"
    return first17 + resident_id_check_character(first17)


def new(i: int, number: str, category: str = "lv_residential", **extra: Any) -> str:
    body = intake_body(
        category=category,
        customer__id_number=rid(i),
        customer__phone=f"1390000{i:04d}",
        address=f"太原市晋源区晋祠路{i}号",
        **extra,
    )
    with at("2026-11-02"), pytest.MonkeyPatch.context() as mp:
        mp.setattr("sunshine.applications.services.new_number", lambda on: number)
        return services.intake(validate_intake(body, date(2026, 11, 2)), None).application.number


def lv_walk(i: int, number: str, personas: dict[str, Any]) -> Application:
    new(i, number)
    with at("2026-11-03"):
        services.complete_stage(number, "survey", personas["engineer"])
    with at("2026-11-04"):
        services.pause(number, personas["alice"], reason_code="customer_request", reason="客户要求暂缓")
    with at("2026-11-06"):
        services.resume(number, personas["alice"])
    with at("2026-11-09"):
        services.reassign(number, personas["leader"], username="bob", reason="李爱休假")
    with at("2026-11-10"):
        services.complete_stage(number, "connection", personas["bob"])
    return Application.objects.get(number=number)


def hv_walk(i: int, number: str, personas: dict[str, Any]) -> Application:
    new(i, number, category="hv_single", requested_capacity=800, capacity_unit="kVA")
    eng = personas["engineer"]
    with at("2026-11-03"):
        services.complete_stage(number, "scheme", eng)
    with at("2026-11-09"):
        services.complete_stage(number, "customer_design", personas["alice"])
    with at("2026-11-12"):
        services.complete_stage(number, "design_review", eng, outcome="failed", defects=["配电室未设置挡鼠板"])
    with at("2026-11-13"):
        services.cancel(number, personas["alice"], reason="客户撤回申请")
    return Application.objects.get(number=number)


def rows(app: Application) -> dict[str, Any]:
    """Everything the engine wrote about ``app``, without keys and the customer's own data."""
    skip_app = {
        "id",
        "number",
        "customer",
        "customer_id",
        "contact_phone",
        "contact_phone_index",
        "address",
        "audit_head",
    }
    app_row = {k: v for k, v in Application.objects.filter(pk=app.pk).values()[0].items() if k not in skip_app}
    stages = [
        {k: v for k, v in s.items() if k not in {"id", "application_id"}}
        for s in StageInstance.objects.filter(application=app).order_by("seq").values()
    ]
    events = list(
        Event.objects.filter(application=app)
        .order_by("id")
        .values_list("type", "at", "actor_id", "stage", "round", "data")
    )
    pauses = [
        {k: v for k, v in p.items() if k not in {"id", "application_id", "stage_id"}}
        for p in Pause.objects.filter(application=app).order_by("id").values()
    ]
    moments = list(
        RungMoment.objects.filter(stage__application=app)
        .order_by("stage__seq", "rung_code")
        .values_list("stage__seq", "rung_code", "due_at", "deadline", "fired_at")
    )
    messages = sorted(
        (m.template, m.channel, m.status, m.body.replace(app.number, "N").replace(app.address, "A"))
        for m in Message.objects.filter(application=app)
    )
    chain = list(Event.objects.filter(application=app).order_by("id").values_list("prev_hash", "hash"))
    links = all(prev == (chain[i - 1][1] if i else "") for i, (prev, _h) in enumerate(chain))
    return {
        "application": app_row,
        "stages": stages,
        "events": events,
        "pauses": pauses,
        "moments": moments,
        "messages": messages,
        "chained": links and app.audit_head == chain[-1][1],
    }


@pytest.mark.parametrize("walk", [lv_walk, hv_walk], ids=["residential walk", "failed review then cancel"])
def test_the_fast_path_writes_the_rows_and_the_chain_of_the_orm_path(personas, settings, walk):
    settings.SUNSHINE_FAST_WRITES = False
    orm = rows(walk(31, "YK2611020000018", personas))
    settings.SUNSHINE_FAST_WRITES = True
    fast = rows(walk(32, "YK2611020000026", personas))
    assert orm["chained"] is True
    assert fast == orm
    assert verify() == []
