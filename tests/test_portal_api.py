"""Public API of the portal (api-v1.md "Public"): ``POST /api/v1/public/verification-codes`` and
``POST /api/v1/public/applications`` (网上办电). Codes are read from the SMS backend's output,
like a customer reads their phone.

November 2026 has no holidays: Thu 26, Fri 27, Mon 30, Tue 12-01.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client, override_settings

from sunshine.applications.models import Application, Event
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

CODES = "/api/v1/public/verification-codes"
APPLY = "/api/v1/public/applications"
PHONE = "13800138000"


class SmsInbox:
    """The SMS backend's output (the locmem backend of the test settings), read like a phone."""

    def __init__(self) -> None:
        from sunshine.notifications import sms as backend

        self.outbox = backend.outbox

    def messages_to(self, phone: str) -> list[str]:
        return [m.text for m in self.outbox if m.phone == phone]

    def code_for(self, phone: str) -> str:
        found = re.search(r"验证码是 (\d{6})", self.messages_to(phone)[-1])
        assert found, self.messages_to(phone)
        return found.group(1)


@pytest.fixture
def sms(settings) -> Iterator[SmsInbox]:
    settings.SUNSHINE_SMS_BACKEND = "locmem"
    inbox = SmsInbox()
    inbox.outbox.clear()
    yield inbox
    inbox.outbox.clear()


def post(path: str, body: Any, client: Client | None = None, **headers: str):
    c = client or Client()
    return c.post(path, json.dumps(body, ensure_ascii=False), content_type="application/json", **headers)


def online_body(code: str, **overrides: Any) -> dict[str, Any]:
    body = intake_body(channel="online", **overrides)
    body["verification_code"] = code
    return body


def at(when: str):
    return time_machine.travel(f"{when} +0800", tick=False)


# --- verification codes --------------------------------------------------------------------


def test_a_code_is_sent_by_sms_and_the_phone_is_masked_in_the_answer(personas, sms):
    with at("2026-11-27 10:00"):
        r = post(CODES, {"phone": "+86 138-0013-8000"})
    assert r.status_code == 202, r.content
    assert r.json() == {"phone": "138****8000", "expires_in": 300, "resend_after": 60}
    [text] = sms.messages_to(PHONE)
    assert re.fullmatch(r"【阳光业扩】您的验证码是 \d{6}，5 分钟内有效。请勿告诉他人。", text)


@pytest.mark.parametrize("phone", ["", "12800138000", "1380013800", "abc", None, 13800138000])
def test_a_bad_phone_is_a_422_and_nothing_is_sent(personas, sms, phone):
    r = post(CODES, {"phone": phone})
    assert r.status_code == 422
    assert r.json() == {
        "code": "validation_error",
        "message": "部分字段填写有误，请核对后重新提交。",
        "fields": {"phone": ["请输入以1开头的11位中国大陆手机号码。"]},
    }
    assert sms.outbox == []


def test_a_gateway_failure_is_a_503_and_the_customer_may_retry(personas, sms, settings):
    settings.SUNSHINE_SMS_BACKEND = "http"
    settings.SUNSHINE_SMS_HTTP_URL = "http://127.0.0.1:9/unreachable"
    settings.SUNSHINE_SMS_HTTP_TIMEOUT = 1
    r = post(CODES, {"phone": PHONE})
    assert r.status_code == 503
    assert r.json() == {"code": "sms_unavailable", "message": "短信暂时无法发送，请一分钟后再试。"}


def test_malformed_json_is_a_400(personas, sms):
    r = Client().post(CODES, "{not json", content_type="application/json")
    assert r.status_code == 400
    assert r.json()["code"] == "malformed_json"


@override_settings(SUNSHINE_CODES_PER_PHONE_HOUR=3)
def test_codes_to_one_phone_are_throttled(personas, sms):
    with at("2026-11-27 10:00"):
        assert post(CODES, {"phone": PHONE}).status_code == 202
        again = post(CODES, {"phone": PHONE}, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 429
    assert again["Retry-After"] == "60"
    assert again.json() == {
        "code": "throttled",
        "message": "A code was just sent to this phone; you can ask again in 60 seconds.",
    }
    with at("2026-11-27 10:01:01"):
        assert post(CODES, {"phone": PHONE}).status_code == 202
    with at("2026-11-27 10:02:02"):
        assert post(CODES, {"phone": PHONE}).status_code == 202
    with at("2026-11-27 10:03:03"):
        fourth = post(CODES, {"phone": PHONE})
    assert fourth.status_code == 429 and fourth["Retry-After"] == "3600"
    assert fourth.json()["message"] == "该手机获取验证码次数过多，请一小时后再试。"
    assert len(sms.messages_to(PHONE)) == 3
    # another phone from another client is not affected
    assert post(CODES, {"phone": "13900139000"}, Client(REMOTE_ADDR="198.51.100.7")).status_code == 202


@override_settings(SUNSHINE_CODES_PER_CLIENT_HOUR=2)
def test_codes_from_one_client_are_throttled(personas, sms):
    c = Client(REMOTE_ADDR="198.51.100.1")
    assert post(CODES, {"phone": "13900000001"}, c).status_code == 202
    assert post(CODES, {"phone": "13900000002"}, c).status_code == 202
    r = post(CODES, {"phone": "13900000003"}, c)
    assert r.status_code == 429
    assert r.json() == {"code": "throttled", "message": "本设备获取验证码次数过多，请稍后再试。"}
    assert sms.messages_to("13900000003") == []
    assert post(CODES, {"phone": "13900000003"}, Client(REMOTE_ADDR="198.51.100.2")).status_code == 202


# --- online application --------------------------------------------------------------------


def test_apply_online_with_the_code_from_the_sms(personas, sms):
    with at("2026-11-26 10:00"):  # Thu
        assert post(CODES, {"phone": PHONE}).status_code == 202
        r = post(APPLY, online_body(sms.code_for(PHONE)))
    assert r.status_code == 201, r.content
    body = r.json()
    number = body["number"]
    app = Application.objects.get(number=number)
    assert (app.channel, app.status, app.current_stage) == ("online", "in_progress", "acceptance")
    assert app.key_project is False
    assert app.customer_manager.username == "alice"
    progress = body["progress"]
    assert progress["number"] == number
    assert progress["customer_name"] == "张*"
    assert progress["customer_manager"] == {"name": "李爱", "phone": "0351-1111111"}
    assert [(s["code"], s["status"], s["deadline"]) for s in progress["stages"]] == [
        ("acceptance", "in_progress", "2026-11-27"),
        ("survey", "pending", None),
        ("connection", "pending", None),
    ]
    assert "11010519491231002X" not in r.content.decode() and PHONE not in r.content.decode()
    assert Event.objects.filter(application=app, type="intake", actor=None).count() == 1


def test_the_code_is_good_once(personas, sms):
    assert post(CODES, {"phone": PHONE}).status_code == 202
    code = sms.code_for(PHONE)
    assert post(APPLY, online_body(code)).status_code == 201
    again = post(APPLY, online_body(code, address="太原市晋源区晋祠路一段2号"))
    assert again.status_code == 422
    assert again.json()["fields"] == {"verification_code": ["验证码已过期或已使用，请重新获取验证码。"]}
    assert Application.objects.count() == 1


def test_a_wrong_code_changes_nothing_and_five_wrong_codes_kill_it(personas, sms):
    assert post(CODES, {"phone": PHONE}).status_code == 202
    code = sms.code_for(PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        r = post(APPLY, online_body(wrong))
        assert r.status_code == 422
        assert r.json() == {
            "code": "validation_error",
            "message": "部分字段填写有误，请核对后重新提交。",
            "fields": {"verification_code": ["验证码不正确，请核对短信后重新输入。"]},
        }
    fifth = post(APPLY, online_body(wrong))
    assert fifth.json()["fields"] == {"verification_code": ["验证码错误次数过多，请重新获取验证码。"]}
    # the right code no longer helps: the customer must ask for a new one
    late = post(APPLY, online_body(code))
    assert late.status_code == 422 and "verification_code" in late.json()["fields"]
    assert Application.objects.count() == 0


def test_an_expired_code_is_refused(personas, sms):
    with at("2026-11-27 10:00:00"):
        assert post(CODES, {"phone": PHONE}).status_code == 202
    code = sms.code_for(PHONE)
    with at("2026-11-27 10:05:01"):
        r = post(APPLY, online_body(code))
    assert r.status_code == 422
    assert r.json()["fields"] == {"verification_code": ["验证码已过期或已使用，请重新获取验证码。"]}
    assert Application.objects.count() == 0


def test_a_code_for_another_phone_does_not_work(personas, sms):
    assert post(CODES, {"phone": "13900139000"}).status_code == 202
    r = post(APPLY, online_body(sms.code_for("13900139000")))
    assert r.status_code == 422 and r.json()["fields"] == {
        "verification_code": ["验证码已过期或已使用，请重新获取验证码。"]
    }


def test_a_complaint_code_cannot_be_spent_on_an_application(personas, sms):
    assert post(CODES, {"phone": PHONE, "purpose": "complaint"}).status_code == 202
    r = post(APPLY, online_body(sms.code_for(PHONE)))
    assert r.status_code == 422 and list(r.json()["fields"]) == ["verification_code"]


def test_every_bad_field_is_reported_at_once_and_the_code_is_kept(personas, sms):
    assert post(CODES, {"phone": PHONE}).status_code == 202
    code = sms.code_for(PHONE)
    body = online_body(code, customer__id_number="110105194912310021", address="", key_project=True)
    body["channel"] = "counter"
    r = post(APPLY, body)
    assert r.status_code == 422
    assert r.json()["fields"] == {
        "customer.id_number": ["居民身份证号码有误，请核对各位数字及最后一位校验码。"],
        "address": ["此项为必填项。"],
        "channel": ["网上申请的渠道只能是“online”（网上办电）。"],
        "key_project": ["重点项目只能由工作人员标记。"],
    }
    # nothing was spent: the same code still works once the fields are right
    assert post(APPLY, online_body(code)).status_code == 201


def test_a_missing_code_is_a_field_error(personas, sms):
    body = intake_body(channel="online")
    r = post(APPLY, body)
    assert r.status_code == 422
    assert r.json()["fields"] == {"verification_code": ["请输入短信收到的 6 位验证码。"]}


def test_a_retry_with_the_same_idempotency_key_returns_the_first_application(personas, sms):
    assert post(CODES, {"phone": PHONE}).status_code == 202
    body = online_body(sms.code_for(PHONE))
    first = post(APPLY, body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(APPLY, body, HTTP_IDEMPOTENCY_KEY="k-1")  # the code is spent, the retry still answers
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Application.objects.count() == 1
    other = post(APPLY, {**body, "address": "太原市晋源区晋祠路一段9号"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert Application.objects.count() == 1


@override_settings(SUNSHINE_PUBLIC_SUBMISSIONS_PER_HOUR=2)
def test_applications_from_one_client_are_throttled(personas, sms):
    c = Client(REMOTE_ADDR="198.51.100.3")
    assert post(APPLY, online_body("000000"), c).status_code == 422
    assert post(APPLY, online_body("000000"), c).status_code == 422
    r = post(APPLY, online_body("000000"), c)
    assert r.status_code == 429
    assert r.json() == {"code": "throttled", "message": "本设备操作过于频繁，请稍后再试。"}
    assert r["Retry-After"] == "3600"


def test_the_openapi_document_names_both_endpoints(personas):
    doc = Client().get("/api/v1/openapi.json").json()
    assert "post" in doc["paths"]["/api/v1/public/verification-codes"]
    assert "post" in doc["paths"]["/api/v1/public/applications"]
    ref = doc["paths"]["/api/v1/public/applications"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]
    assert "verification_code" in schema["required"]
