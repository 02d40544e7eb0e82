"""The customer-manager system as a district office sees it, in a real browser on the demo data:
the elimination warning explained, a manager's score history, a concentration monitor with data
in every column, and the SMS telling a customer their new manager. (The half-month report's
e-mail is tested through a real SMTP server in tests/test_reports.py.)"""

from __future__ import annotations

from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from sunshine.accounts.models import User
from sunshine.applications.models import Application, Event, Status
from sunshine.notifications.tasks import deliver_due
from tests.test_browser_desk import check_a11y

pytestmark = pytest.mark.browser
NOW = "2026-11-27 10:00 +0800"


@pytest.fixture
def demo(transactional_db):
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", applications=60, stdout=StringIO())
    return {u.username: u for u in User.objects.all()}


@pytest.mark.django_db(transaction=True)
def test_the_elimination_warning_and_the_score_history(office_page, demo):
    office_page.login(demo["leader"])
    page = office_page.page
    with time_machine.travel(NOW, tick=True):
        page.goto("/workbench/evaluations/2026-10/")
        row = page.locator("table.evaluation tbody tr", has_text="manager3")
        assert row.locator(".badge", has_text="考评淘汰预警").count() == 1
        assert row.locator(".badge", has_text="一票否决").count() == 1
        assert row.locator("li.rank").inner_text() == "在本服务区域 3 名参评客户经理中排第 3 名：末位"
        assert row.locator("li.warning").inner_text() == (
            "考评淘汰预警：连续 2 个考核期在本区域 3 名参评客户经理中位列末 1 名。"
        )
        # every component explained: points = fraction × weight, or no data
        for code in ("on_time", "speed", "satisfaction", "volume"):
            text = row.locator(f"li.component-{code}").inner_text()
            assert " × " in text or "无数据" in text, text
        check_a11y(page)
        office_page.screenshot("fair-elimination-warning")
        row.locator("a", has_text="孙强").click()
        page.wait_for_url("**/workbench/evaluations/managers/manager3/")
        rows = page.locator("table.evaluation-history tbody tr")
        assert rows.count() == 2
        assert rows.nth(0).locator("td").first.inner_text().startswith("2026-10")
        assert rows.nth(0).locator(".badge", has_text="考评淘汰预警").count() == 1
        assert rows.nth(1).locator("td").first.inner_text().startswith("2026-09")
        office_page.screenshot("fair-score-history")


@pytest.mark.django_db(transaction=True)
def test_the_concentration_monitor_shows_the_demo_choices(office_page, demo):
    office_page.login(demo["auditor"])
    page = office_page.page
    with time_machine.travel(NOW, tick=True):
        page.goto("/workbench/concentration/?period=2026-10")
        rows = page.locator("table tbody tr")
        assert rows.count() > 3
        for i in range(rows.count()):
            cells = [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
            assert all(cells[:6]), cells  # 类别, manager, unit, projects, share, overall share
            assert cells[0] in {"设计单位", "施工单位", "设备材料供应单位"}, cells
        office_page.screenshot("fair-concentration")


@pytest.mark.django_db(transaction=True)
def test_a_reassignment_sends_the_customer_an_sms_naming_the_new_manager(office_page, demo):
    app = Application.objects.filter(
        status=Status.IN_PROGRESS, customer_manager__username="manager1", unit__code="ty-jinyuan"
    ).first()  # the leader works in 晋源区
    assert app is not None
    office_page.login(demo["leader"])
    page = office_page.page
    page.on("dialog", lambda d: d.accept())
    with time_machine.travel(NOW, tick=True):
        page.goto(f"/workbench/applications/{app.number}/")
        page.locator("summary", has_text="改派给其他客户经理").click()
        page.select_option("#reassign-form select", "manager2")
        page.fill("#reassign-form input[name=reassign-reason]", "李明休假")
        with page.expect_navigation():
            page.click("#reassign-form button[type=submit]")
        assert deliver_due() >= 1  # what the workers do with the message table
        page.reload()
        sent = page.locator("table.event-log tr[data-type=notification_sent]", has_text="客户经理变更")
        assert sent.count() == 1
        assert "短信 " in sent.inner_text()
        office_page.screenshot("fair-reassignment-sms")
    body = Event.objects.get(application=app, type="notification_sent", data__template="manager_changed")
    assert body.data["channel"] == "sms"
