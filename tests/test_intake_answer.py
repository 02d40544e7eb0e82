"""The intake's answer (``POST /api/v1/applications``, 201) is rendered without ninja's response
validation (sunshine/api/routers/applications.py): these tests show its bytes are those ninja
renders for ``schemas.ApplicationOut``, and those of ``GET /api/v1/applications/{number}`` (which
ninja validates) right after, for every shape of answer: counter and online, high voltage with a
decimal capacity, a possible duplicate, no customer manager, a replay, English names."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from sunshine.api.errors import ApiRenderer
from sunshine.api.schemas import ApplicationOut
from sunshine.applications import selectors, writes
from sunshine.applications.models import Application
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

APPS = "/api/v1/applications"

CASES: dict[str, dict[str, Any]] = {
    "counter": {},
    "online": {"channel": "online"},
    "hv_decimal": {
        "category": "hv_single",
        "requested_capacity": 630.5,
        "capacity_unit": "kVA",
        "key_project": True,
        "customer__name": "太原某某制造有限公司",
        "customer__id_type": "uscc",
        "customer__id_number": "91140100MA0K000004",
    },
    "no_manager": {"address": "大同市平城区某街1号", "channel": "hotline"},
}


def ninja_rendering(app: Application) -> bytes:
    """What ninja sends for ``detail`` under ``response={201: ApplicationOut}``: the body
    validated by the schema, dumped, rendered by the API's renderer."""
    fresh = Application.objects.select_related("customer", "customer_manager", "process").get(pk=app.pk)
    body = ApplicationOut.model_validate(selectors.application_detail(fresh)).model_dump()
    return ApiRenderer().render(None, body, response_status=201).encode()  # type: ignore[arg-type]


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
@pytest.mark.parametrize("language", [None, "en"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_answer_is_what_ninja_renders_and_what_get_answers(api_as, case, language):
    clerk, leader = api_as("clerk", language), api_as("leader", language)
    r = clerk.post(APPS, intake_body(**CASES[case]))
    assert r.status_code == 201, r.content
    assert r["Content-Type"] == "application/json; charset=utf-8"
    app = Application.objects.get(number=r.json()["number"])
    assert r.content == ninja_rendering(app)
    again = leader.get(f"{APPS}/{app.number}")
    assert again.status_code == 200
    assert r.content == again.content
    assert again["Content-Type"] == r["Content-Type"]
    if case == "no_manager":
        assert r.json()["customer_manager"] is None
    if case == "hv_decimal":
        assert r.json()["requested_capacity"] == 630.5


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_a_duplicate_and_a_replay_answer_as_ninja_renders(api_as):
    clerk = api_as("clerk")
    first = clerk.post(APPS, intake_body())
    second = clerk.post(APPS, intake_body(), HTTP_IDEMPOTENCY_KEY="k-1")
    assert second.status_code == 201
    assert second.json()["possible_duplicate_of"] == first.json()["number"]
    dup = Application.objects.get(number=second.json()["number"])
    assert second.content == ninja_rendering(dup)
    replay = clerk.post(APPS, intake_body(), HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay.status_code == 201
    assert replay.content == second.content
    assert Application.objects.count() == 2


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"channel": "counter", "customer_manager": None, "process_version": 3, "flag": True},
        {"defects": ["a", "b"], "nested": {"x": [1, 2, {"y": None}]}, "n": 10**20},
        {"deadline": "2026-11-27", "outcome": None, "ünï": "晋源区"},
    ],
)
def test_the_chain_hashes_payloads_as_their_round_trip(data):
    """audit._canonical_data skips the JSON round trip for the events' payloads: the text is the
    round trip's (so the chain's hashes are unchanged)."""
    import json

    from sunshine.applications.audit import _canonical_data

    expected = json.dumps(json.loads(json.dumps(data)), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert _canonical_data(data) == expected


def test_the_chain_still_round_trips_other_values():
    from datetime import date
    from decimal import Decimal

    from sunshine.applications.audit import _canonical_data
    from sunshine.applications.events import EventType

    data = {"on": date(2026, 11, 27), "amount": Decimal("1.50"), "type": EventType.INTAKE, "x": 1.5, "t": (1, 2)}
    assert _canonical_data(data) == '{"amount":"1.50","on":"2026-11-27","t":[1,2],"type":"intake","x":1.5}'


def test_the_intake_builds_its_rows_as_the_models_constructors_do(personas, area):
    """services._intake_once builds the customer, the application and its stages with
    writes.make: the same attributes, related objects and state as ``Model(**kwargs)``."""
    from datetime import datetime
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from sunshine.applications import writes
    from sunshine.applications.models import Customer, StageInstance
    from sunshine.processes.models import ProcessTemplate

    def same(a: Any, b: Any) -> None:
        da, db = dict(a.__dict__), dict(b.__dict__)
        sa, sb = da.pop("_state"), db.pop("_state")
        assert da == db
        assert (sa.adding, sa.db, sa.fields_cache) == (sb.adding, sb.db, sb.fields_cache)

    contact = {"id_type": "resident_id", "id_number": "11010519491231002X", "name": "张三", "phone": "13800138000"}
    same(writes.make(Customer, dict(contact)), Customer(**contact))
    customer = Customer.objects.create(**contact)
    process = ProcessTemplate.objects.filter(category="lv_residential").first()
    assert process is not None
    now = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    values = {
        "id": 4242,
        "number": "YK261127000001X",
        "category": "lv_residential",
        "business_type": "new_connection",
        "channel": "counter",
        "status": "in_progress",
        "customer_name": "张三",
        "contact_phone": "13800138000",
        "address": "太原市晋源区晋祠路一段1号",
        "unit_id": area.unit_id,
        "requested_capacity": Decimal("8"),
        "capacity_unit": "kW",
        "key_project": False,
        "accepted_at": now,
    }
    for manager in (personas["alice"], None):
        related = {
            "customer": customer,
            "area": area,
            "customer_manager": manager,
            "process": process,
            "possible_duplicate_of": None,
        }
        made = writes.make(Application, dict(values), dict(related))
        plain = {k: v for k, v in values.items() if k != "id"}
        same(made, Application(pk=4242, **plain, **related))
        template = process.stages.first()
        stage = {"seq": 1, "code": template.code, "round": 1, "owner": template.owner, "time_limit_days": None}
        same(
            writes.make(StageInstance, dict(stage), {"application": made, "template": template}),
            StageInstance(application=made, template=template, **stage),
        )


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_a_number_already_taken_is_drawn_again_before_anything_fails(personas, monkeypatch):
    """An intake whose random number another application of the day has gets the next one drawn.
    On PostgreSQL the reads statement says the number is taken and a new one is checked before
    the change is written (no failed statement, no rollback: psycopg keeps its prepared
    statements); on SQLite the unique index refuses it and the intake retries, as before."""
    from datetime import date

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sunshine.applications import services
    from sunshine.applications.validation import validate_intake

    clerk = personas["clerk"]
    today = date(2026, 11, 27)
    body = intake_body(customer__id_number="110105198001010016", address="太原市晋源区晋祠路2号")
    taken = services.intake(validate_intake(intake_body(), today), clerk).application.number
    fresh = services.new_number(today)
    while fresh == taken:
        fresh = services.new_number(today)
    draws = iter([taken, fresh])
    monkeypatch.setattr(services, "new_number", lambda on: next(draws))
    with CaptureQueriesContext(connection) as ctx:
        app = services.intake(validate_intake(body, today), clerk).application
    assert app.number == fresh
    assert Application.objects.filter(number=fresh).count() == 1
    if connection.vendor == "postgresql":
        sql = [q["sql"] for q in ctx.captured_queries]
        assert not any("ROLLBACK" in s.upper() for s in sql)
        assert not any(s.upper().startswith("ROLLBACK TO SAVEPOINT") for s in sql)
        # the reads once, the new number checked once, the change once (the reactions run eagerly here)
        assert sum(s.startswith("WITH found") for s in sql) == 1
        assert sum(s.startswith("SELECT NOT EXISTS") for s in sql) == 1
        assert sum(s.startswith(writes.STAMPED + "WITH p0") for s in sql) == 1  # it writes an application
