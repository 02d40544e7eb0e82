"""更正客户联系方式: the only way a customer's stored name or phone changes after the first intake
(docs/security.md, "Hostile input"). A staff action on the case page, for the case's own
customer manager, a clerk, a leader and the administrator; it writes a ``contact_corrected``
event that never carries the full phone; a refusal changes nothing."""

from __future__ import annotations

import json

import pytest

from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Customer, Event
from tests.test_portal_pages import at
from tests.test_workbench_case import client_for, new_app, text, url

pytestmark = pytest.mark.django_db

NEW_PHONE = "13900139123"


def state(app: Application) -> tuple:
    app.refresh_from_db()
    customer = Customer.objects.get(pk=app.customer_id)
    events = list(Event.objects.filter(application=app).order_by("id").values_list("type", "data"))
    return customer.name, customer.phone, app.customer_name, app.contact_phone, events


@pytest.mark.parametrize("who", ["alice", "clerk", "leader", "admin"])
def test_who_may_corrects_the_contact_and_an_event_records_it_without_the_phone(personas, who):
    app = new_app(personas["clerk"])  # alice's case (the first manager of the area)
    assert app.customer_manager == personas["alice"]
    other = new_app(personas["clerk"], address="太原市晋源区晋祠路二段2号")  # the same customer, another case
    with at("2026-11-03"):
        r = client_for(personas[who]).post(
            url(app, "contact"),
            {"contact-name": "张三丰", "contact-phone": "139-0013-9123", "contact-reason": "客户换了手机号"},
        )
    assert r.status_code == 302 and r["Location"] == url(app)
    name, phone, app_name, app_phone, events = state(app)
    assert (name, phone, app_name, app_phone) == ("张三丰", NEW_PHONE, "张三丰", NEW_PHONE)
    assert events[-1] == (
        EventType.CONTACT_CORRECTED,
        {"fields": ["name", "phone"], "reason": "客户换了手机号", "phone_tail": "9123"},
    )
    event = Event.objects.filter(application=app).latest("id")
    assert event.actor == personas[who]
    assert NEW_PHONE not in json.dumps(event.data) and "13800138000" not in json.dumps(event.data)
    # the customer's other application keeps the contact it was submitted with
    other.refresh_from_db()
    assert (other.customer_name, other.contact_phone) == ("张三", "13800138000")
    # the timeline names the correction
    page = text(client_for(personas["leader"]).get(url(app)).content)
    assert "更正客户联系方式" in page and "（新号码尾号 9123）：客户换了手机号" in page


@pytest.mark.parametrize("who", ["bob", "engineer", "auditor"])
def test_a_refusal_changes_nothing(personas, who):
    app = new_app(personas["clerk"])
    before = state(app)
    r = client_for(personas[who]).post(url(app, "contact"), {"contact-phone": NEW_PHONE, "contact-reason": "客户换号"})
    assert r.status_code == 403
    assert state(app) == before


def test_the_form_shows_only_to_who_may_correct(personas):
    app = new_app(personas["clerk"])
    for who, shown in (("alice", True), ("clerk", True), ("engineer", False), ("auditor", False)):
        body = client_for(personas[who]).get(url(app)).content.decode()
        assert ('id="contact-form"' in body) is shown, who


def test_bad_input_and_no_change_are_refused_and_change_nothing(personas):
    app = new_app(personas["clerk"])
    before = state(app)
    c = client_for(personas["alice"])
    r = c.post(url(app, "contact"), {"contact-phone": "12345", "contact-reason": "换号"})
    assert r.status_code == 200
    assert "请输入以1开头的11位中国大陆手机号码。" in text(r.content)
    r = c.post(url(app, "contact"), {"contact-phone": "13900139123", "contact-reason": ""})
    assert r.status_code == 200
    assert "此项为必填项。" in text(r.content)
    r = c.post(url(app, "contact"), {"contact-phone": "13800138000", "contact-name": "张三", "contact-reason": "核对"})
    assert r.status_code == 200
    assert "无需更正：客户名称和手机号码与现有记录相同。" in text(r.content)
    assert state(app) == before


def test_only_the_phone_changes_when_the_name_is_left_blank(personas):
    app = new_app(personas["clerk"])
    r = client_for(personas["clerk"]).post(url(app, "contact"), {"contact-phone": NEW_PHONE, "contact-reason": "换号"})
    assert r.status_code == 302
    name, phone, app_name, app_phone, events = state(app)
    assert (name, phone, app_name, app_phone) == ("张三", NEW_PHONE, "张三", NEW_PHONE)
    assert events[-1] == (EventType.CONTACT_CORRECTED, {"fields": ["phone"], "reason": "换号", "phone_tail": "9123"})
    # the public look-up now answers to the new phone's ending
    assert Application.objects.filter(contact_phone_index=app.contact_phone_index).count() == 1


# --- API v1: POST /api/v1/applications/{number}/contact (added; the same rule and event) --------


@pytest.mark.parametrize("who", ["alice", "clerk", "leader", "admin"])
def test_the_api_corrects_the_contact_for_who_may(personas, api_as, who):
    app = new_app(personas["clerk"])
    with at("2026-11-03"):
        r = api_as(who).post(
            f"/api/v1/applications/{app.number}/contact", {"phone": "+86 139-0013-9123", "reason": "客户换了手机号"}
        )
    assert r.status_code == 200, r.content
    assert r.json()["number"] == app.number
    name, phone, app_name, app_phone, events = state(app)
    assert (name, phone, app_name, app_phone) == ("张三", NEW_PHONE, "张三", NEW_PHONE)
    assert events[-1] == (
        EventType.CONTACT_CORRECTED,
        {"fields": ["phone"], "reason": "客户换了手机号", "phone_tail": "9123"},
    )
    assert Event.objects.filter(application=app).latest("id").actor == personas[who]


def test_the_api_refuses_who_may_not_and_bad_input_and_changes_nothing(personas, api_as):
    app = new_app(personas["clerk"])
    before = state(app)
    path = f"/api/v1/applications/{app.number}/contact"
    body = {"name": "张三丰", "reason": "更名"}
    for who in ("bob", "engineer", "auditor"):
        r = api_as(who).post(path, body)
        assert (r.status_code, r.json()["code"]) == (403, "forbidden"), who
    assert api_as(None).post(path, body).status_code == 401
    clerk = api_as("clerk")
    refused = [
        ({"phone": "12345", "reason": "换号"}, {"phone"}),  # not a mobile number (the schema)
        ({"name": "张三丰"}, {"reason"}),  # no reason
        ({"name": "张三丰", "reason": "   "}, {"reason"}),  # a blank one (the server)
        ({"name": "张三", "phone": "13800138000", "reason": "核对"}, {"__all__"}),  # nothing differs
        ({"reason": "核对"}, {"__all__"}),  # nothing given
    ]
    for sent, fields in refused:
        r = clerk.post(path, sent)
        assert (r.status_code, r.json()["code"], set(r.json()["fields"])) == (422, "validation_error", fields), sent
    assert state(app) == before
    assert clerk.post("/api/v1/applications/YK0000000000000/contact", body).status_code == 404
