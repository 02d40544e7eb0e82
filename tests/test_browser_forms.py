"""Forms that help, in a real browser: after a refused submit each message goes away as its field
is put right, and the red banner with the last one; the counter's "documents brought" checklist
follows the category."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_errors_of_the_apply_form_go_away_as_the_fields_are_put_right(phone_page):
    page = phone_page.page
    page.goto("/apply/")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_selector("#apply-errors")
    # the refused submit answers 422, which the browser logs; nothing else may be logged
    assert [e for e in phone_page.errors if "422" not in e] == []
    phone_page.errors.clear()
    assert page.locator("#apply-errors").is_visible()
    assert page.locator(".field.has-error").count() == 6
    page.get_by_label("姓名或单位名称").fill("张三")
    page.locator("#id_id_number").fill("11010519491231002X")
    page.get_by_label("手机号码").fill("13800138000")
    page.get_by_label("用电地址").fill("太原市晋源区晋祠路一段1号")
    page.get_by_label("申请容量").fill("8")
    page.get_by_label("短信验证码").fill("123456")
    # a locator assertion, not wait_for_function: that evaluates a string, which the CSP forbids
    expect(page.locator(".field.has-error")).to_have_count(0)
    assert page.locator("#apply-errors").is_hidden()
    # a field made wrong again shows its message again, and so does the banner's reason
    page.get_by_label("用电地址").fill("晋")
    page.wait_for_selector("#err-address .field-error-line")
    assert page.locator("#err-address").inner_text() == "地址太短：请写明区县、街道和门牌号（至少 5 个字）。"
    phone_page.screenshot("forms/apply-fixed-phone")


@pytest.mark.django_db(transaction=True)
def test_the_documents_checklist_shows_what_the_category_needs(office_page, personas):
    page = office_page.page
    office_page.login(personas["clerk"])
    page.goto("/workbench/intake/")
    boxes = page.locator("#documents-brought li:visible")
    everything = boxes.count()
    page.select_option("#id_category", "lv_residential")
    assert page.locator("#documents-brought li:visible").all_inner_texts() == ["房屋或土地产权证明（或租赁协议）"]
    page.select_option("#id_category", "hv_single")
    assert 1 < page.locator("#documents-brought li:visible").count() <= everything
    office_page.screenshot("forms/intake-documents-office")
