"""Sign-in, counter intake (with htmx field checks and the duplicate warning) and the receipt."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from sunshine.applications.models import Application, Event
from sunshine.workbench.desk.intake_views import mask_id
from sunshine.workbench.desk.queries import propose_category

TZ = ZoneInfo("Asia/Shanghai")

FORM = {
    "customer_name": "张三",
    "id_type": "resident_id",
    "id_number": "11010519491231002X",
    "phone": "13800138000",
    "address": "太原市晋源区晋祠路一段1号",
    "business_type": "new_connection",
    "requested_capacity": "8",
    "capacity_unit": "kW",
    "category": "lv_residential",
    "channel": "counter",
    "idempotency_key": "k-1",
}


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=TZ), tick=False)


# --- sign-in ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_is_sent_to_sign_in_from_every_page():
    c = Client()
    for path in [
        "/workbench/",
        "/workbench/intake/",
        "/workbench/dashboard/",
        "/workbench/reassign/",
        "/workbench/team/",
    ]:
        r = c.get(path)
        assert r.status_code == 302, path
        assert r["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.django_db
def test_sign_in_page_is_chinese_and_a_wrong_password_says_so(personas):
    c = Client()
    r = c.get("/accounts/login/")
    html = r.content.decode()
    assert r.status_code == 200
    assert '<label for="id_username">用户名</label>' in html
    assert '<label for="id_password">密码</label>' in html
    r = c.post("/accounts/login/", {"username": "clerk", "password": "wrong"})
    assert r.status_code == 200
    assert "用户名或密码不正确" in r.content.decode()
    r = c.post("/accounts/login/", {"username": "clerk", "password": "pw-clerk"})
    assert r.status_code == 302 and r["Location"] == "/workbench/"
    assert c.get("/workbench/").status_code == 200


@pytest.mark.django_db
def test_five_failures_lock_the_account_out(personas):
    c = Client()
    for _ in range(4):
        assert c.post("/accounts/login/", {"username": "clerk", "password": "nope"}).status_code == 200
    r = c.post("/accounts/login/", {"username": "clerk", "password": "nope"})
    assert r.status_code == 429
    # even the right password is refused while locked
    r = c.post("/accounts/login/", {"username": "clerk", "password": "pw-clerk"})
    assert r.status_code == 429
    assert "登录已锁定" in r.content.decode() or "锁定" in r.content.decode()


@pytest.mark.django_db
def test_logout_is_a_post(personas):
    c = client_for(personas["clerk"])
    assert c.get("/accounts/logout/").status_code == 405
    r = c.post("/accounts/logout/")
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    assert c.get("/workbench/").status_code == 302


@pytest.mark.django_db
def test_a_user_without_staff_role_is_refused(personas):
    r = client_for(personas["outsider"]).get("/workbench/")
    assert r.status_code == 403
    assert "没有工作人员角色" in r.content.decode()


# --- intake ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_intake_form_labels_every_input(personas):
    html = client_for(personas["clerk"]).get("/workbench/intake/").content.decode()
    for name in ["customer_name", "id_type", "id_number", "phone", "address", "requested_capacity", "category"]:
        assert f'<label for="id_{name}">' in html, name
        assert f'hx-target="#err-{name}"' in html, name
    assert 'name="csrfmiddlewaretoken"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["auditor", "engineer"])
def test_roles_without_intake_are_refused_and_nothing_is_created(personas, role):
    c = client_for(personas[role])
    assert c.get("/workbench/intake/").status_code == 403
    assert c.post("/workbench/intake/", FORM).status_code == 403
    assert c.post("/workbench/intake/validate/", FORM, HTTP_HX_REQUEST="true").status_code == 403
    assert Application.objects.count() == 0


@pytest.mark.django_db
def test_intake_accepts_and_redirects_to_the_receipt(personas):
    c = client_for(personas["clerk"])
    with at(2026, 9, 29, 10, 0):
        r = c.post("/workbench/intake/", FORM)
    assert r.status_code == 302
    app = Application.objects.get()
    assert r["Location"] == f"/workbench/intake/{app.number}/receipt/"
    assert (app.category, app.channel, app.customer_manager.username) == ("lv_residential", "counter", "alice")
    assert app.current_stage == "survey"  # acceptance completed at the counter
    assert Event.objects.filter(application=app, type="intake", actor=personas["clerk"]).count() == 1


@pytest.mark.django_db
def test_resubmitting_the_same_form_does_not_accept_twice(personas):
    c = client_for(personas["clerk"])
    first = c.post("/workbench/intake/", FORM)
    second = c.post("/workbench/intake/", FORM)
    assert first["Location"] == second["Location"]
    assert Application.objects.count() == 1


@pytest.mark.django_db
def test_invalid_intake_shows_chinese_errors_in_place_and_creates_nothing(personas):
    c = client_for(personas["clerk"])
    bad = {**FORM, "phone": "12345", "id_number": "110105194912310021", "requested_capacity": "500"}
    r = c.post("/workbench/intake/", bad)
    assert r.status_code == 422
    html = r.content.decode()
    assert (
        '<div id="err-phone" class="field-error" aria-live="polite"><p>请输入以1开头的11位中国大陆手机号码。</p></div>'
        in html
    )
    assert "居民身份证号码有误，请核对各位数字及最后一位校验码。" in html
    assert '<div id="err-requested_capacity"' in html and "500" in html
    assert Application.objects.count() == 0


@pytest.mark.django_db
def test_htmx_validation_returns_the_field_errors(personas):
    c = client_for(personas["clerk"])
    r = c.post(
        "/workbench/intake/validate/",
        {**FORM, "phone": "138001"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TRIGGER_NAME="phone",
    )
    assert r.status_code == 200
    assert r.content.decode().strip() == (
        '<div id="err-phone" class="field-error" aria-live="polite"><p>请输入以1开头的11位中国大陆手机号码。</p></div>'
    )
    r = c.post("/workbench/intake/validate/", FORM, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME="phone")
    assert r.content.decode().strip() == '<div id="err-phone" class="field-error" aria-live="polite"></div>'
    assert Application.objects.count() == 0


@pytest.mark.django_db
def test_htmx_capacity_change_proposes_a_category(personas):
    c = client_for(personas["clerk"])
    body = {**FORM, "id_type": "uscc", "requested_capacity": "120", "category": "lv_residential"}
    body["proposed_category"] = "lv_residential"  # the clerk had left the earlier proposal
    r = c.post("/workbench/intake/validate/", body, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME="requested_capacity")
    html = r.content.decode()
    assert 'id="field-category" class="field" hx-swap-oob="true"' in html
    assert '<option value="lv_non_residential" selected>低压非居民</option>' in html
    # a category the clerk chose by hand stays
    body = {**FORM, "requested_capacity": "120", "category": "hv_dual", "proposed_category": "lv_residential"}
    r = c.post("/workbench/intake/validate/", body, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME="requested_capacity")
    assert '<option value="hv_dual" selected>' in r.content.decode()


def test_category_proposal_follows_domain_section_5():
    from decimal import Decimal

    assert propose_category("resident_id", Decimal("8")) == "lv_residential"
    assert propose_category("resident_id", Decimal("100")) == "lv_residential"
    assert propose_category("resident_id", Decimal("100.5")) == "lv_non_residential"
    assert propose_category("uscc", Decimal("160")) == "lv_non_residential"
    assert propose_category("uscc", Decimal("160.01")) == "hv_single"
    assert propose_category("uscc", None) is None


@pytest.mark.django_db
def test_duplicate_must_be_confirmed(personas):
    c = client_for(personas["clerk"])
    first = c.post("/workbench/intake/", FORM)
    number = first["Location"].split("/")[3]
    again = {**FORM, "idempotency_key": "k-2", "address": "太原市晋源区晋祠路一段2号"}
    r = c.post("/workbench/intake/", again)
    assert r.status_code == 409
    html = r.content.decode()
    assert "可能重复" in html and number in html
    assert 'name="confirm_duplicate"' in html
    assert Application.objects.count() == 1
    r = c.post("/workbench/intake/", {**again, "confirm_duplicate": "on"})
    assert r.status_code == 302
    assert Application.objects.count() == 2
    # the htmx check warns already while typing the address
    r = c.post(
        "/workbench/intake/validate/",
        {**FORM, "id_number": "", "idempotency_key": "k-3"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TRIGGER_NAME="address",
    )
    assert 'id="duplicate-warning" hx-swap-oob="true"' in r.content.decode()
    assert number in r.content.decode()


# --- receipt -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_receipt_shows_number_manager_time_limits_and_missing_documents(personas):
    c = client_for(personas["clerk"])
    with at(2026, 9, 29, 10, 0):
        number = c.post("/workbench/intake/", FORM)["Location"].split("/")[3]
        r = c.get(f"/workbench/intake/{number}/receipt/")
    html = r.content.decode()
    assert r.status_code == 200
    assert f'<dd class="receipt-number">{number}</dd>' in html
    assert "李爱 · 办公电话 0351-1111111" in html
    assert "110105********002X" in html and "11010519491231002X" not in html
    # survey (2 working days from 09-29: 09-30 and 10-08), connection not started yet
    assert "<td>现场勘查</td>\n        <td>2 个工作日</td>\n        <td>2026-10-08</td>" in html
    assert "<td>装表接电</td>\n        <td>2 个工作日</td>\n        <td>自开始之日起计算</td>" in html
    assert "全流程供电企业办理时间不超过 5 个工作日" in html
    assert "<td>业务受理</td>\n        <td>1 个工作日</td>\n        <td>已于 2026-09-29 完成</td>" in html
    # the 一次性告知 list of the documents app: an ID-only intake still lacks the proof of premises
    assert '<ol class="missing-documents"><li>房屋或土地产权证明（或租赁协议）</li></ol>' in html
    assert "data-print" in html


@pytest.mark.django_db
def test_receipt_of_another_managers_application_is_refused(personas):
    number = client_for(personas["clerk"]).post("/workbench/intake/", FORM)["Location"].split("/")[3]
    assert client_for(personas["bob"]).get(f"/workbench/intake/{number}/receipt/").status_code == 403
    assert client_for(personas["alice"]).get(f"/workbench/intake/{number}/receipt/").status_code == 200
    assert client_for(personas["clerk"]).get("/workbench/intake/YK0000000000000/receipt/").status_code == 404


@pytest.mark.django_db
def test_receipt_pdf_contains_the_number_and_chinese_text(personas):
    from pypdf import PdfReader

    c = client_for(personas["clerk"])
    with at(2026, 9, 29, 10, 0):
        number = c.post("/workbench/intake/", FORM)["Location"].split("/")[3]
        r = c.get(f"/workbench/intake/{number}/receipt.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r["Content-Disposition"] == f'attachment; filename="receipt-{number}.pdf"'
    import io

    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert number in text
    assert "李爱" in text and "0351-1111111" in text
    assert "2026-10-08" in text
    assert len(r.content) < 80_000  # the project's font, subset (the font file is 10 MB)


def test_mask_id():
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_id("91140100MA0L1234X1") == "911401********34X1"


@pytest.mark.django_db
def test_intake_page_is_english_on_request(personas):
    c = client_for(personas["clerk"])
    c.cookies["django_language"] = "en"
    # the middleware activates English in this thread; the override puts the previous language back
    with translation.override("zh-hans"):
        html = c.get("/workbench/intake/").content.decode()
    assert "Counter intake" in html


@pytest.mark.django_db
def test_documents_ticked_as_brought_are_received_with_the_intake_and_left_off_the_receipt(personas):
    """一次性告知 exactly: the receipt lists only what the customer did not bring. A business
    customer (high-voltage) brings the proof of property and the equipment list; the receipt then
    asks for the rest and nothing else."""
    form = {
        **FORM,
        "customer_name": "太原示例科技有限公司",
        "id_type": "uscc",
        "id_number": "91140100MA0K000004",
        "requested_capacity": "800",
        "capacity_unit": "kVA",
        "category": "hv_single",
        "idempotency_key": "k-docs",
        "documents_brought": ["property_proof", "load_list"],
    }
    c = client_for(personas["clerk"])
    with at(2026, 9, 29, 10, 0):
        intake_page = c.get("/workbench/intake/").content.decode()
        r = c.post("/workbench/intake/", form)
        assert r.status_code == 302, r.content.decode()[:2000]
        number = r["Location"].split("/")[3]
        html = c.get(f"/workbench/intake/{number}/receipt/").content.decode()
    assert 'name="documents_brought" value="property_proof"' in intake_page
    assert 'value="id_card"' not in intake_page  # the identity document is registered by its number
    app = Application.objects.get(number=number)
    received = list(app.documents.order_by("kind__position").values_list("kind__code", "status", "by__username"))
    assert received == [("property_proof", "received", "clerk"), ("load_list", "received", "clerk")]
    events = Event.objects.filter(application=app, type="document_received").order_by("id")
    assert [e.data["kind"] for e in events] == ["property_proof", "load_list"]
    missing = html[html.index('<ol class="missing-documents">') : html.index("</ol>", html.index("missing-documents"))]
    assert "房屋或土地产权证明" not in missing and "用电设备清单" not in missing
    assert "设计文件及图纸" in missing
