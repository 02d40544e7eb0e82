"""The public portal on a phone (390×844) in a real browser: apply online with the code from the
SMS backend, track progress, see a pause reason and a defect list, contest the pause, and
complain. Screenshots under var/screenshots/. Any console error (a CSP violation included)
fails the test.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sunshine.accounts.models import Role, ServiceArea
from sunshine.applications import services
from sunshine.applications.models import Application
from sunshine.applications.validation import validate_intake
from sunshine.notifications import sms
from tests.conftest import intake_body, make_user

pytestmark = pytest.mark.browser


def code_sent_to(phone: str) -> str:
    texts = [m.text for m in sms.outbox if m.phone == phone]
    assert texts, "no SMS to " + phone
    found = re.search(r"验证码是 (\d{6})", texts[-1])
    assert found
    return found.group(1)


@pytest.fixture
def staff(transactional_db):
    area = ServiceArea.objects.create(code="jinyuan", name="晋源区", keywords="晋源区,晋祠")
    alice = make_user("alice", Role.CUSTOMER_MANAGER, last_name="李", first_name="爱", work_phone="0351-1111111")
    alice.areas.add(area)
    sms.outbox.clear()
    yield {"alice": alice, "admin": make_user("admin", Role.ADMIN, is_staff=True, is_superuser=True)}
    sms.outbox.clear()


@pytest.mark.django_db(transaction=True)
def test_apply_online_and_track_progress_on_a_phone(phone_page, staff):
    page = phone_page.page
    page.goto("/")
    assert page.locator("#promise-lv_residential .promise-total").inner_text() == "全流程 5 个工作日内办结"
    phone_page.screenshot("portal-home-phone")
    page.get_by_role("link", name="网上办电").first.click()
    page.wait_for_url("**/apply/")
    page.get_by_label("姓名或单位名称").fill("张三")
    # a wrong ID number is explained as the user types
    page.get_by_label("身份证号码或统一社会信用代码").fill("110105194912310021")
    page.wait_for_selector("#err-id_number .field-error-line")
    assert page.locator("#err-id_number").inner_text() == "居民身份证号码有误，请核对各位数字及最后一位校验码。"
    page.get_by_label("身份证号码或统一社会信用代码").fill("11010519491231002X")
    expect(page.locator("#err-id_number .field-error-line")).to_have_count(0)
    page.get_by_label("手机号码").fill("13800138000")
    page.get_by_label("用电地址").fill("太原市晋源区晋祠路一段1号")
    page.get_by_label("申请容量").fill("8")
    # the category is proposed from the customer type and the capacity
    assert page.locator("#id_category").input_value() == "lv_residential"
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_selector("#code-status .code-ok")
    assert page.locator("#code-status").inner_text() == "验证码已发送至 138****8000，5 分钟内有效。"
    assert page.locator("#send-code").is_disabled()  # cool-down
    page.get_by_label("短信验证码").fill(code_sent_to("13800138000"))
    phone_page.screenshot("portal-apply-phone")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/apply/submitted/")
    number = page.locator("#application-number").inner_text()
    app = Application.objects.get()
    assert number == app.number and app.channel == "online"
    assert page.locator(".manager-card .manager-name").inner_text() == "李爱"
    phone_page.screenshot("portal-applied-phone")
    page.locator("main").get_by_role("button", name="进度查询").click()
    page.wait_for_selector("ol.tracker")
    nodes = page.locator("ol.tracker > li .node-name").all_inner_texts()
    assert nodes == ["业务受理", "现场勘查", "装表接电"]
    assert "张*" in page.locator(".progress-summary").inner_text()
    phone_page.screenshot("portal-progress-phone")


@pytest.mark.django_db(transaction=True)
def test_a_pause_reason_a_defect_list_a_contest_and_a_complaint(phone_page, staff):
    admin = staff["admin"]
    from django.utils import timezone

    today = timezone.localdate()
    paused = services.intake(validate_intake(intake_body(), today), admin).application
    services.pause(paused.number, admin, reason_code="missing_documents", reason="请补交房产证明")
    hv = services.intake(
        validate_intake(
            intake_body(
                category="hv_single",
                requested_capacity=800,
                capacity_unit="kVA",
                customer__name="某某精密机械有限公司",
                customer__id_type="uscc",
                customer__id_number="91350100M000100Y43",
                customer__phone="15011112222",
            ),
            today,
        ),
        admin,
    ).application
    services.complete_stage(hv.number, "scheme", admin)
    services.complete_stage(hv.number, "customer_design", admin)
    defects = ["配电室防火门未标注耐火等级", "电缆通道断面图缺失"]
    services.complete_stage(hv.number, "design_review", admin, outcome="failed", defects=defects)
    page = phone_page.page

    page.goto("/progress/")
    page.get_by_label("申请编号").fill(hv.number)
    page.get_by_label("申请时所留手机号码的后 4 位").fill("2222")
    page.get_by_role("button", name="查询").click()
    page.wait_for_selector(".defects")
    assert page.locator(".defects .defect-list li").all_inner_texts() == defects
    phone_page.screenshot("portal-defects-phone")

    page.goto(f"/progress/?number={paused.number}&phone_tail=8000")
    assert "等您补充资料" in page.locator(".pause-reason .pause-plain").inner_text()
    assert page.locator(".pause-reason .pause-note").inner_text() == "说明：请补交房产证明"
    phone_page.screenshot("portal-pause-phone")
    page.get_by_label("具体情况").fill("房产证明上周已经交到营业厅了。")
    page.get_by_role("button", name="提交申诉").click()
    page.wait_for_selector("#tracking-number")
    assert re.fullmatch(r"JC\d{14}", page.locator("#tracking-number").inner_text())
    phone_page.screenshot("portal-contested-phone")

    page.goto("/complaints/")
    page.get_by_label("反映事项").select_option("steering")
    page.get_by_label("手机号码").fill("13900139000")
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_selector("#code-status .code-ok")
    page.get_by_label("短信验证码").fill(code_sent_to("13900139000"))
    page.get_by_label("申请编号（可选）").fill(paused.number)
    page.get_by_label("具体情况").fill("勘查人员要求我找指定的施工队。")
    page.get_by_role("button", name="提交").click()
    page.wait_for_selector("#tracking-number")
    assert re.fullmatch(r"JC\d{14}", page.locator("#tracking-number").inner_text())
    assert "前答复" in page.locator("#due-on").inner_text()
    phone_page.screenshot("portal-complained-phone")
