"""The duplicate check at intake (docs/security.md): a customer manager who may not read the other
case learns only that a possible duplicate exists and whom to ask, never its number, customer,
address or status; someone who may read it sees the case as before."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client

from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
ADDRESS = "太原市晋源区晋祠路一段1号"
FORM = {
    "customer_name": "张小三",
    "id_type": "resident_id",
    "id_number": ID_NUMBER,
    "phone": "13900139000",
    "address": "太原市晋源区晋祠路九段9号",
    "business_type": "new_connection",
    "requested_capacity": "8",
    "capacity_unit": "kW",
    "category": "lv_residential",
    "channel": "counter",
    "idempotency_key": "k-dup",
}
ASK_ALICE = "存在一件您无权查看的申请：请向其客户经理李爱（0351-1111111）了解。"


@pytest.fixture
def alices(api_as) -> str:
    """An open application of Alice's (张三, ID_NUMBER, ADDRESS)."""
    with time_machine.travel("2026-11-26 10:00 +0800", tick=False):
        r = api_as("clerk").post("/api/v1/applications", intake_body(address=ADDRESS))
        assert r.status_code == 201, r.content
        assert r.json()["customer_manager"]["username"] == "alice"
        return str(r.json()["number"])


def _as(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _leaks(html: str, number: str) -> list[str]:
    return [s for s in (number, "张三", ADDRESS, "办理中", "in_progress") if s in html]


@pytest.mark.parametrize("field", ["id_number", "address"])
def test_another_manager_is_told_only_whom_to_ask(personas, alices, field):
    form = {**FORM, "_field": field}
    if field == "address":
        form.update(id_number="", address=ADDRESS)
    r = _as(personas["bob"]).post("/workbench/intake/validate/", form)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="duplicate-warning"' in html and "可能重复" in html
    assert ASK_ALICE in html
    assert _leaks(html, alices) == []


def test_the_intake_confirmation_tells_another_manager_only_whom_to_ask(personas, alices):
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        r = _as(personas["bob"]).post("/workbench/intake/", FORM)
    assert r.status_code == 409
    html = r.content.decode()
    assert ASK_ALICE in html
    assert _leaks(html, alices) == []


@pytest.mark.parametrize("who", ["alice", "clerk"])
def test_whoever_may_read_the_case_sees_it(personas, alices, who):
    r = _as(personas[who]).post("/workbench/intake/validate/", {**FORM, "_field": "id_number"})
    assert r.status_code == 200
    html = r.content.decode()
    assert f"{alices} · 张三 · {ADDRESS} · " in html
    assert ASK_ALICE not in html
