"""Intake against hostile input (docs/security.md): an over-long Idempotency-Key is refused, never
cut; a later intake never rewrites an existing customer's name or phone."""

from __future__ import annotations

import json
import re

import pytest
import time_machine
from django.test import Client

from sunshine.applications.models import Application, Customer, IdempotencyRecord
from tests.conftest import intake_body
from tests.test_portal_api import SmsInbox, sms  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

TOO_LONG = {
    "code": "validation_error",
    "message": "Some fields are not valid.",
    "fields": {"Idempotency-Key": ["Too long: 200 characters at most."]},
}


@time_machine.travel("2026-11-26 10:00 +0800", tick=False)
def test_an_over_long_idempotency_key_is_422_and_changes_nothing(personas, api_as):
    api = api_as("clerk", "en")
    shared = "k" * 200
    r = api.post("/api/v1/applications", intake_body(), HTTP_IDEMPOTENCY_KEY=shared + "A")
    assert r.status_code == 422, r.content
    assert r.json() == TOO_LONG
    assert (Application.objects.count(), IdempotencyRecord.objects.count()) == (0, 0)
    # 200 characters is the most: accepted, and a second key sharing them is refused, not replayed
    first = api.post("/api/v1/applications", intake_body(), HTTP_IDEMPOTENCY_KEY=shared)
    assert first.status_code == 201
    again = api.post("/api/v1/applications", intake_body(), HTTP_IDEMPOTENCY_KEY=shared + "B")
    assert again.status_code == 422 and again.json() == TOO_LONG
    assert Application.objects.count() == 1


@time_machine.travel("2026-11-26 10:00 +0800", tick=False)
def test_an_over_long_idempotency_key_is_422_for_the_online_application(personas, sms):  # noqa: F811
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    phone = "13900139001"
    assert (
        c.post("/api/v1/public/verification-codes", {"phone": phone}, content_type="application/json").status_code
        == 202
    )
    body = {**intake_body(customer__phone=phone), "channel": "online", "verification_code": sms.code_for(phone)}
    r = c.post(
        "/api/v1/public/applications",
        json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="x" * 201,
    )
    assert r.status_code == 422 and r.json() == TOO_LONG
    assert Application.objects.count() == 0


def test_a_later_intake_never_rewrites_the_customers_contact(personas, api_as, sms):  # noqa: F811
    with time_machine.travel("2026-11-26 10:00 +0800", tick=False):
        first = api_as("clerk").post("/api/v1/applications", intake_body())
        assert first.status_code == 201
    customer = Customer.objects.get()
    assert (customer.name, customer.phone) == ("张三", "13800138000")
    # anyone can name the same ID number: an anonymous online applicant with another name and phone
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        c = Client()
        phone = "13900139999"
        assert (
            c.post("/api/v1/public/verification-codes", {"phone": phone}, content_type="application/json").status_code
            == 202
        )
        body = {
            **intake_body(customer__name="冒名者", customer__phone=phone, address="太原市晋源区晋祠路八段8号"),
            "channel": "online",
            "verification_code": sms.code_for(phone),
        }
        second = c.post(
            "/api/v1/public/applications", json.dumps(body, ensure_ascii=False), content_type="application/json"
        )
        assert second.status_code == 201, second.content
    customer.refresh_from_db()
    assert (customer.name, customer.phone) == ("张三", "13800138000")
    # each application keeps the contact it was submitted with
    contacts = {a.number: (a.customer_name, a.contact_phone, a.customer_id) for a in Application.objects.all()}
    assert contacts == {
        first.json()["number"]: ("张三", "13800138000", customer.pk),
        second.json()["number"]: ("冒名者", phone, customer.pk),
    }


@time_machine.travel("2026-11-26 10:00 +0800", tick=False)
def test_the_apply_pages_hidden_key_is_at_most_64_characters_and_never_cut(personas, sms):  # noqa: F811
    """The page's own key is 32 hex characters; a hand-made one above 64 is refused like the API's
    over-long Idempotency-Key (not cut, so two keys sharing 64 characters never replay each other),
    and the page answers with a fresh key of its own."""
    from tests.test_portal_forms import PHONE, form

    c = Client()
    assert c.post("/apply/code/", {"phone": PHONE}).status_code == 200
    code = sms.code_for(PHONE)
    shared = "k" * 64
    refused = c.post("/apply/", form(verification_code=code, idempotency_key=shared + "A"))
    assert refused.status_code == 422
    page = refused.content.decode()
    assert "内容过长：最多 64 个字符。" in page
    fresh = re.search(r'name="idempotency_key" value="([^"]*)"', page)
    assert fresh is not None and re.fullmatch(r"[0-9a-f]{32}", fresh.group(1))
    assert (Application.objects.count(), IdempotencyRecord.objects.count()) == (0, 0)
    # 64 characters is the most: accepted and stored whole; a second key sharing them is refused
    assert c.post("/apply/", form(verification_code=code, idempotency_key=shared)).status_code == 302
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == [f"form:{shared}"]
    again = c.post("/apply/", form(verification_code=code, idempotency_key=shared + "B"))
    assert again.status_code == 422
    assert Application.objects.count() == 1
