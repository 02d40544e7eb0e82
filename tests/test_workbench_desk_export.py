"""CSV export of the applications list: exact content, scope by role, filters, and streaming."""

from __future__ import annotations

import types
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sunshine.applications import selectors, services
from sunshine.applications.models import Application
from sunshine.applications.validation import resident_id_check_character, validate_intake
from tests.conftest import intake_body

TZ = ZoneInfo("Asia/Shanghai")
URL = "/workbench/export.csv"
HEADER = (
    "number,category,business_type,channel,status,current_stage,customer_name,address,requested_capacity,"
    "capacity_unit,key_project,customer_manager,accepted_at,completed_at,cancelled_at"
)


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def make_app(actor, on: datetime, i: int, manager, **overrides) -> Application:
    first17 = f"11010519800101{i:03d}"
    overrides.setdefault("customer__id_number", first17 + resident_id_check_character(first17))
    overrides.setdefault("customer__name", f"客户{i}")
    overrides.setdefault("customer__phone", f"139{i:08d}")
    overrides.setdefault("address", f"太原市晋源区晋祠路{i}号")
    with time_machine.travel(on, tick=False):
        app = services.intake(validate_intake(intake_body(**overrides), on.date()), actor).application
    Application.objects.filter(pk=app.pk).update(customer_manager=manager)
    app.refresh_from_db()
    return app


@pytest.fixture
def apps(personas):
    clerk, alice, bob = personas["clerk"], personas["alice"], personas["bob"]
    a1 = make_app(clerk, datetime(2026, 10, 8, 9, 15, tzinfo=TZ), 1, alice)
    a2 = make_app(
        clerk,
        datetime(2026, 10, 9, 14, 0, 5, tzinfo=TZ),
        2,
        alice,
        address='太原市晋源区晋祠路2号"东"院, 3单元',
        key_project=True,
        requested_capacity=12,
    )
    b1 = make_app(clerk, datetime(2026, 10, 12, 10, 0, tzinfo=TZ), 3, bob)
    return {"a1": a1, "a2": a2, "b1": b1}


def body(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


@pytest.mark.django_db
def test_a_customer_manager_exports_exactly_their_own_applications(personas, apps):
    r = client_for(personas["alice"]).get(URL)
    assert r.status_code == 200
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"].startswith('attachment; filename="applications-')
    a1, a2 = apps["a1"].number, apps["a2"].number
    assert body(r) == (
        "\ufeff" + HEADER + "\r\n"
        f"{a1},lv_residential,new_connection,counter,in_progress,survey,客户1,太原市晋源区晋祠路1号,8.00,kW,"
        "false,alice,2026-10-08 09:15:00,,\r\n"
        f'{a2},lv_residential,new_connection,counter,in_progress,survey,客户2,"太原市晋源区晋祠路2号""东""院, 3单元",'
        "12.00,kW,true,alice,2026-10-09 14:00:05,,\r\n"
    )


@pytest.mark.django_db
def test_staff_see_everyone_and_the_filters_apply(personas, apps):
    leader = client_for(personas["leader"])
    lines = body(leader.get(URL)).splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [apps["a1"].number, apps["a2"].number, apps["b1"].number]
    # accepted_from / accepted_to are local dates, both included
    lines = body(leader.get(URL, {"accepted_from": "2026-10-09", "accepted_to": "2026-10-12"})).splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [apps["a2"].number, apps["b1"].number]
    lines = body(leader.get(URL, {"key_project": "1"})).splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [apps["a2"].number]
    lines = body(leader.get(URL, {"manager": "bob"})).splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [apps["b1"].number]
    # closed applications only with status=all (or their own status); bad values are ignored
    with time_machine.travel(datetime(2026, 10, 13, 9, tzinfo=TZ), tick=False):
        services.cancel(apps["b1"].number, personas["bob"], reason="客户申请撤销报装")
    assert len(body(leader.get(URL)).splitlines()) == 3
    cancelled = body(leader.get(URL, {"status": "cancelled", "accepted_from": "not-a-date"})).splitlines()
    assert len(cancelled) == 2
    assert cancelled[1] == (
        f"{apps['b1'].number},lv_residential,new_connection,counter,cancelled,,客户3,太原市晋源区晋祠路3号,8.00,kW,"
        "false,bob,2026-10-12 10:00:00,,2026-10-13 09:00:00"
    )
    assert len(body(leader.get(URL, {"status": "all"})).splitlines()) == 4


@pytest.mark.django_db
def test_only_signed_in_staff_may_export(personas, apps):
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert client_for(personas["outsider"]).get(URL).status_code == 403


@pytest.mark.django_db
def test_the_export_streams_in_keyset_chunks(personas, apps):
    """The body is a generator consumed as it is sent, and the rows are read a chunk at a time
    (one query per chunk), so memory holds one chunk whatever the number of rows."""
    r = client_for(personas["leader"]).get(URL)
    assert r.streaming
    assert isinstance(r.streaming_content, types.GeneratorType) or hasattr(r.streaming_content, "__next__")
    rows = selectors.export_rows(Application.objects.all(), chunk=2)
    assert isinstance(rows, types.GeneratorType)
    with CaptureQueriesContext(connection) as ctx:
        first = next(rows)
        assert len(ctx.captured_queries) == 1  # only the first chunk was read
        rest = list(rows)
    assert [first[0], *(r[0] for r in rest)] == [apps["a1"].number, apps["a2"].number, apps["b1"].number]
    assert len(ctx.captured_queries) == 2  # chunks of 2, 1 (the short chunk ends it)
