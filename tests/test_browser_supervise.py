"""In a real browser: a leader takes charge of a key project, writes a progress review with the
keyboard, and a customer manager checks the deadline-supervision view on a phone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from sunshine.applications import services as engine
from sunshine.applications.validation import validate_intake
from sunshine.supervision.models import LeaderSupervision, SupervisionNote
from tests.conftest import intake_body

pytestmark = pytest.mark.browser

# Fri 2026-11-27 10:00: a counter intake starts the survey (2 working days, due Tue 12-01).
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _intake(**overrides):
    data = validate_intake(intake_body(**overrides), timezone.localdate())
    return engine.intake(data, None).application


@time_machine.travel(NOW, tick=True)
@pytest.mark.django_db(transaction=True)
def test_a_leader_takes_charge_and_reviews_progress(office_page, personas):
    app = _intake(key_project=True)
    page = office_page.page
    office_page.login(personas["leader"])
    page.goto("/workbench/supervision/")
    assert page.locator("h1").inner_text() == "挂牌督办项目"
    assert "目前没有挂牌督办的项目。" in page.content()

    page.get_by_label("申请编号").fill(app.number)
    page.get_by_label("督办事由").fill("市重点招商项目，年底前必须送电")
    page.get_by_label("目标完成日期").fill("2026-12-31")
    office_page.screenshot("supervise-take-charge")
    page.get_by_role("button", name="挂牌督办").click()
    page.wait_for_url(f"**/workbench/supervision/{app.number}/")
    assert f"您已挂牌督办 {app.number}。" in page.locator(".messages").inner_text()
    s = LeaderSupervision.objects.get()
    assert (s.leader, s.target_date) == (personas["leader"], date(2026, 12, 31))

    # a progress review, entirely from the keyboard
    page.get_by_label("类型").select_option("review")
    page.get_by_label("内容", exact=True).focus()
    page.keyboard.type("现场勘查已完成，方案编制中")
    page.get_by_label("检查日期").fill(timezone.localdate().isoformat())
    page.get_by_label("检查日期").press("Enter")
    page.wait_for_url(f"**/workbench/supervision/{app.number}/")
    assert "已保存。" in page.locator(".messages").inner_text()
    assert "现场勘查已完成，方案编制中" in page.locator("ol.notes").inner_text()
    assert list(SupervisionNote.objects.values_list("kind", "text")) == [("review", "现场勘查已完成，方案编制中")]
    # the coming warnings of the tighter ladder are listed
    assert "待触发的提醒" in page.content()
    office_page.screenshot("supervise-detail")

    page.goto("/workbench/supervision/")
    row = page.locator("table.supervised tbody tr")
    assert row.count() == 1
    assert app.number in row.inner_text() and "重点项目" in row.inner_text()
    office_page.screenshot("supervise-list")


@time_machine.travel(NOW, tick=True)
@pytest.mark.django_db(transaction=True)
def test_a_customer_manager_sees_the_coming_warnings_on_a_phone(phone_page, personas):
    app = _intake()
    page = phone_page.page
    phone_page.login(personas["alice"])
    page.goto("/workbench/supervision/deadlines/")
    assert page.locator("h1").inner_text() == "时限监督"
    table = page.locator("table.rungs").first
    assert app.number in table.inner_text()
    rows = [r.inner_text() for r in table.locator("tbody tr").all()]
    assert [("剩余1个工作日" in r, "2026-11-30 08:30" in r) for r in rows[:1]] == [(True, True)]
    assert "今天到期" in rows[1] and "2026-12-01 08:30" in rows[1]
    phone_page.screenshot("supervise-deadlines-phone")
