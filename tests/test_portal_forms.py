"""The public forms: online application (code by SMS, checks as you type, double submit, success
page), complaints (verified phone → supervision case with a due date) and the pause contest.

November/December 2026 have no holidays: Thu 11-26, Fri 27, Mon 30, Tue 12-01 ... Fri 12-11.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from sunshine.applications.models import Application
from sunshine.feedback.models import SupervisionCase
from tests.conftest import intake_body
from tests.test_portal_api import SmsInbox
from tests.test_portal_pages import at, paused_residential, text_of

pytestmark = pytest.mark.django_db

PHONE = "13800138000"


@pytest.fixture
def sms(settings) -> Iterator[SmsInbox]:
    settings.SUNSHINE_SMS_BACKEND = "locmem"
    inbox = SmsInbox()
    inbox.outbox.clear()
    yield inbox
    inbox.outbox.clear()


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def token_of(response) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert found
    return found.group(1)


def form(**overrides: Any) -> dict[str, str]:
    data = {
        "id_type": "resident_id",
        "name": "张三",
        "id_number": "11010519491231002X",
        "phone": PHONE,
        "address": "太原市晋源区晋祠路一段1号",
        "requested_capacity": "8",
        "capacity_unit": "kW",
        "business_type": "new_connection",
        "category": "",
        "verification_code": "",
    }
    data.update(overrides)
    return data


# --- online application --------------------------------------------------------------------


def test_the_form_labels_every_input_and_carries_a_fresh_idempotency_key(personas):
    c = Client()
    first, second = c.get("/apply/"), c.get("/apply/")
    body = first.content.decode()
    assert first.status_code == 200
    for name in ("name", "id_number", "phone", "verification_code", "address", "requested_capacity", "category"):
        assert f'<label for="id_{name}">' in body, name
    assert 'name="csrfmiddlewaretoken"' in body
    key = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')
    assert key.search(body).group(1) != key.search(second.content.decode()).group(1)  # type: ignore[union-attr]
    assert "key_project" not in body  # the public never marks a key project
    assert 'id="category-proposal"' in body  # the proposal table for the page script


def test_fields_are_checked_as_the_user_types_with_the_intake_rules(personas):
    c = Client()
    r = c.post("/apply/check/?field=id_number", form(id_number="110105194912310021"), HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert text_of(r) == "居民身份证号码有误，请核对各位数字及最后一位校验码。"
    r = c.post("/apply/check/?field=phone", form(phone="1380013"), HTTP_HX_REQUEST="true")
    assert text_of(r) == "请输入以1开头的11位中国大陆手机号码。"
    # a person asking for 150 kW is proposed low-voltage non-residential, so 150 is plausible ...
    assert text_of(c.post("/apply/check/?field=requested_capacity", form(requested_capacity="150"))) == ""
    # ... and 120 is not plausible once the person insists on residential
    r = c.post("/apply/check/?field=requested_capacity", form(requested_capacity="120", category="lv_residential"))
    assert text_of(r) == "申请容量 120 超出该客户类别的合理范围：最大为 100。"
    assert text_of(c.post("/apply/check/?field=name", form(name=""))) == ""  # nothing typed yet: silent
    assert text_of(c.post("/apply/check/?field=id_number", form())) == ""


def test_apply_online_from_the_form_with_the_code_from_the_sms(personas, sms):
    c = csrf_client()
    with at("2026-11-26"):  # Thu
        page = c.get("/apply/")
        token = token_of(page)
        key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.content.decode()).group(1)  # type: ignore[union-attr]
        sent = c.post("/apply/code/", {"phone": PHONE}, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
        assert text_of(sent) == "验证码已发送至 138****8000，5 分钟内有效。"
        data = form(verification_code=sms.code_for(PHONE), idempotency_key=key, csrfmiddlewaretoken=token)
        r = c.post("/apply/", data)
        assert r.status_code == 302 and r["Location"] == "/apply/submitted/"
        # a double submit of the same form (same hidden key) creates nothing new
        again = c.post("/apply/", data)
        assert again.status_code == 302
        done = c.get("/apply/submitted/")
    assert Application.objects.count() == 1
    app = Application.objects.get()
    assert (app.channel, app.category, app.key_project) == ("online", "lv_residential", False)
    text = text_of(done)
    assert f"您的申请编号 {app.number}" in text
    assert "您的客户经理 李爱 工作电话： 0351-1111111" in text
    # acceptance started Thu 11-26 with 1 working day → Fri 11-27; the next steps have limits
    assert "业务受理 ： 2026-11-27 前完成" in text
    assert "现场勘查 ： 上一环节完成后 2 个工作日内" in text
    # "Track progress" posts the number and phone ending: neither lands in a URL
    html = done.content.decode()
    assert '<form method="post" action="/progress/" class="track-progress">' in html
    assert f'<input type="hidden" name="number" value="{app.number}">' in html
    assert '<input type="hidden" name="phone_tail" value="8000">' in html
    assert "phone_tail=" not in html
    # another browser cannot see the success page
    assert Client().get("/apply/submitted/").status_code == 302


def test_a_form_without_csrf_token_is_refused(personas, sms):
    r = csrf_client().post("/apply/", form(verification_code="123456"))
    assert r.status_code == 403
    assert Application.objects.count() == 0


def test_the_form_shows_every_error_in_chinese_and_keeps_the_typing(personas, sms):
    r = Client().post("/apply/", form(id_number="123", address="", verification_code="", idempotency_key="k"))
    assert r.status_code == 422
    text = text_of(r)
    assert "请修改下面标出的内容。" in text
    assert "居民身份证号码应为18位。" in text or "18" in text
    assert "此项为必填项。" in text
    assert "请输入短信收到的 6 位验证码。" in text
    assert 'value="张三"' in r.content.decode()
    assert Application.objects.count() == 0


def test_the_category_is_proposed_when_left_empty(personas, sms):
    c = Client()
    c.post("/apply/code/", {"phone": PHONE})
    r = c.post(
        "/apply/",
        form(
            id_type="uscc",
            id_number="91350100M000100Y43",
            name="某某科技有限公司",
            requested_capacity="150",
            verification_code=sms.code_for(PHONE),
            idempotency_key="k2",
        ),
    )
    assert r.status_code == 302
    assert Application.objects.get().category == "lv_non_residential"


@override_settings(SUNSHINE_PUBLIC_SUBMISSIONS_PER_HOUR=1)
def test_too_many_submissions_get_the_429_page(personas, sms):
    c = Client()
    c.post("/apply/", form(idempotency_key="a"))
    r = c.post("/apply/", form(idempotency_key="b"))
    assert r.status_code == 429
    assert "本设备操作过于频繁，请稍后再试。" in text_of(r)


def test_send_code_throttle_answers_in_the_page(personas, sms):
    c = Client()
    assert "验证码已发送" in text_of(c.post("/apply/code/", {"phone": PHONE}, HTTP_HX_REQUEST="true"))
    r = c.post("/apply/code/", {"phone": PHONE}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200  # htmx swaps only 2xx answers
    assert text_of(r) == "验证码刚刚已发送到该手机，请 60 秒后再获取。"
    assert len(sms.messages_to(PHONE)) == 1


# --- complaints ----------------------------------------------------------------------------


def test_a_complaint_with_a_verified_phone_opens_a_case_with_a_due_date(personas, sms):
    app = paused_residential(personas)
    c = Client()
    with at("2026-11-27"):  # Fri
        c.post("/complaints/code/", {"phone": "13900139000"})
        r = c.post(
            "/complaints/",
            {
                "kind": "steering",
                "name": "",
                "phone": "139 0013 9000",
                "verification_code": sms.code_for("13900139000"),
                "number": app.number.lower(),
                "text": "勘查人员要求我找指定的施工队。",
            },
        )
    assert r.status_code == 200
    case = SupervisionCase.objects.get()
    assert (case.source, case.kind, case.application_id, case.reporter_phone) == (
        "complaint",
        "steering",
        app.pk,
        "13900139000",
    )
    assert case.details == "勘查人员要求我找指定的施工队。"
    # 10 working days from Fri 11-27: Mon 11-30 ... Fri 12-11
    assert str(case.due_on) == "2026-12-11"
    text = text_of(r)
    assert f"受理编号 {case.tracking_number}" in text
    assert "我们将在 2026-12-11 前答复（按工作日计算时限）。" in text
    assert "13900139000" not in r.content.decode()


def test_a_complaint_needs_the_code_and_changes_nothing_without_it(personas, sms):
    c = Client()
    c.post("/complaints/code/", {"phone": PHONE})
    code = sms.code_for(PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    data = {"kind": "overcharge", "phone": PHONE, "verification_code": wrong, "text": "多收了表计费"}
    r = c.post("/complaints/", data)
    assert r.status_code == 422
    assert "验证码不正确，请核对短信后重新输入。" in text_of(r)
    r = c.post("/complaints/", {"kind": "bogus", "phone": "1", "verification_code": "", "text": ""})
    text = text_of(r)
    for message in ("请选择反映的事项类型。", "请输入以1开头的11位中国大陆手机号码。", "请描述具体情况。"):
        assert message in text
    assert SupervisionCase.objects.count() == 0


def test_an_unknown_application_number_is_kept_in_the_text_not_refused(personas, sms):
    c = Client()
    c.post("/complaints/code/", {"phone": PHONE})
    r = c.post(
        "/complaints/",
        {
            "kind": "other",
            "phone": PHONE,
            "verification_code": sms.code_for(PHONE),
            "number": "YK2611260000000",
            "text": "营业厅态度差",
        },
    )
    assert r.status_code == 200
    case = SupervisionCase.objects.get()
    assert case.application is None and case.kind == "complaint"
    assert case.details == "营业厅态度差\n\n填写的申请编号：YK2611260000000（未找到）"


# --- pause contest -------------------------------------------------------------------------


def test_the_customer_contests_a_pause_and_gets_a_tracking_number(personas):
    app = paused_residential(personas)
    c = Client()
    with at("2026-11-30"):
        text = "房产证明我上周已经交了。"
        r = c.post("/progress/contest/", {"number": app.number, "phone_tail": "8000", "text": text})
        again = c.post("/progress/contest/", {"number": app.number, "phone_tail": "8000", "text": "再说一次"})
    assert r.status_code == 200
    case = SupervisionCase.objects.get()
    assert (case.source, case.kind, case.application_id) == ("pause_contest", "pause_contest", app.pk)
    assert f"受理编号 {case.tracking_number}" in text_of(r)
    assert again.status_code == 422
    assert SupervisionCase.objects.count() == 1


def test_a_contest_with_a_wrong_pair_is_refused_like_a_lookup(personas):
    app = paused_residential(personas)
    r = Client().post("/progress/contest/", {"number": app.number, "phone_tail": "0000", "text": "不是我的原因"})
    assert r.status_code == 422
    assert "未找到与该申请编号及手机号码后四位相符的申请。" in text_of(r)
    assert SupervisionCase.objects.count() == 0


def test_a_resent_form_with_other_details_is_not_a_silent_duplicate(personas, sms):
    c = Client()
    c.post("/apply/code/", {"phone": PHONE})
    assert c.post("/apply/", form(verification_code=sms.code_for(PHONE), idempotency_key="same")).status_code == 302
    r = c.post("/apply/", form(address="太原市晋源区晋祠路一段9号", verification_code="000000", idempotency_key="same"))
    assert r.status_code == 409
    assert "这份表单已经提交过。请核对信息，如确需再次申请，请再次提交。" in text_of(r)
    assert 'name="idempotency_key" value="same"' not in r.content.decode()
    assert Application.objects.count() == 1


def _field_of(html: str, name: str) -> str:
    """The markup of the .field that holds the input ``name`` (up to the next field)."""
    start = html.rindex('<div class="field', 0, html.index(f'id="id_{name}"'))
    return html[start : html.index('<div class="field', html.index(f'id="id_{name}"'))]


def test_an_empty_form_puts_each_error_under_its_own_field_and_never_asks_for_the_optional_category(personas):
    empty = form(name="", id_number="", phone="", address="", requested_capacity="", idempotency_key="k2")
    r = Client().post("/apply/", empty)
    assert r.status_code == 422
    html = r.content.decode()
    capacity = _field_of(html, "requested_capacity")
    # the capacity's message sits in the capacity's own field (it once showed under "unit")
    assert 'id="err-requested_capacity"' in capacity and "此项为必填项。" in capacity
    unit_at, error_at = capacity.index('id="id_capacity_unit"'), capacity.index('id="err-requested_capacity"')
    assert unit_at < error_at
    # the category is proposed from the type and capacity: optional, no error while those are wrong
    category = html[html.index('<label for="id_category">') : html.index('id="err-category"') + 200]
    assert "（可不选）" in category and "field-error-line" not in category and "required" not in category
    assert Application.objects.count() == 0


@pytest.mark.parametrize("address", ["晋", "晋源区", "1号"])
def test_an_address_too_short_to_find_is_refused_here_and_in_the_api(personas, address, api_as):
    r = Client().post("/apply/check/?field=address", form(address=address))
    assert text_of(r) == "地址太短：请写明区县、街道和门牌号（至少 5 个字）。"
    r = api_as("clerk").post("/api/v1/applications", intake_body(address=address))
    assert r.status_code == 422
    assert r.json()["fields"] == {"address": ["地址太短：请写明区县、街道和门牌号（至少 5 个字）。"]}
    assert Application.objects.count() == 0


def test_the_page_after_applying_offers_to_copy_the_number_and_save_the_receipt(personas, sms):
    c = Client()
    c.post("/apply/code/", {"phone": PHONE}, HTTP_HX_REQUEST="true")
    r = c.post("/apply/", form(verification_code=sms.code_for(PHONE), idempotency_key="k3"))
    assert r.status_code == 302
    html = c.get("/apply/submitted/").content.decode()
    number = Application.objects.get().number
    assert f'data-copy="{number}"' in html and "复制编号" in html
    assert "data-print" in html and "保存或打印回执" in html
