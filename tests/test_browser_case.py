"""The application page in a real browser, walked end to end with the server's clock frozen on
exact dates (the live server runs in this process, so time-machine moves its clock too).

Low voltage: intake 2026-11-02 (Mon) → survey (2 working days) → connection (2) done late.
High voltage: intake 2026-09-29 (Tue), the design review starts 09-30 and its 10 working days run
over National Day (10-01…10-07 off, Sat 10-10 worked, Sun 10-11 off) to 10-20; it fails with two
defects, the customer redesigns, the second round passes, … → connection.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from sunshine.accounts.models import Role
from sunshine.applications import services
from sunshine.applications.models import Application, Event, StageInstance
from sunshine.applications.validation import validate_intake
from tests.conftest import intake_body, make_user

pytestmark = pytest.mark.browser
TZ = ZoneInfo("Asia/Shanghai")


def travel(y: int, m: int, d: int, h: int = 9):
    return time_machine.travel(datetime(y, m, d, h, 0, tzinfo=TZ), tick=True)


@pytest.fixture
def people(db):
    from sunshine.accounts.models import ServiceArea

    area = ServiceArea.objects.create(code="jinyuan", name="晋源区", keywords="晋源区")
    alice = make_user("alice", Role.CUSTOMER_MANAGER, last_name="李", first_name="爱", work_phone="0351-1111111")
    alice.areas.add(area)
    bob = make_user("bob", Role.CUSTOMER_MANAGER, last_name="包", first_name="博")
    bob.areas.add(area)
    bob.accepts_assignments = False
    bob.save()
    return {
        "clerk": make_user("clerk", Role.CLERK),
        "alice": alice,
        "bob": bob,
        "engineer": make_user("engineer", Role.ENGINEER, last_name="王", first_name="工"),
        "auditor": make_user("auditor", Role.AUDITOR),
    }


def intake(clerk, category: str, day: date) -> Application:
    overrides = {"requested_capacity": 800, "capacity_unit": "kVA"} if category.startswith("hv") else {}
    data = validate_intake(intake_body(category=category, **overrides), day)
    return services.intake(data, clerk).application


class Walk:
    """Drives one application's page as one user at a time."""

    def __init__(self, bp, app: Application) -> None:
        self.bp = bp
        self.page = bp.page
        self.app = app
        self.page.on("dialog", lambda d: d.accept())

    def open_as(self, user) -> None:
        # A fresh session at the travelled time (a session from another day would have expired).
        self.bp.login(user)
        self.page.goto(f"/workbench/applications/{self.app.number}/")

    def stage(self, code: str, round_: int = 1):
        return self.page.locator(f"#stage-{code}-{round_}")

    def badges(self, code: str, round_: int = 1) -> str:
        return self.stage(code, round_).locator(".stage-badges").inner_text().strip()

    def explanation(self, code: str, round_: int = 1) -> list[str]:
        return [t.strip() for t in self.stage(code, round_).locator(".explain-days li").all_inner_texts()]

    def complete(self, outcome: str | None = None, defects: str = "") -> None:
        form = self.page.locator("#complete-form")
        if outcome:
            form.locator("select[name=complete-outcome]").select_option(outcome)
        if defects:
            form.locator("textarea[name=complete-defects]").fill(defects)
        with self.page.expect_navigation():
            form.locator("#complete-submit").click()
        assert self.messages() == ["环节已办结。"], self.messages()

    def messages(self) -> list[str]:
        return [t.strip() for t in self.page.locator(".messages li").all_inner_texts()]

    def status(self) -> str:
        return self.page.locator("#case-status").inner_text().strip()


@pytest.mark.django_db(transaction=True)
def test_low_voltage_case_walked_through_the_page(office_page, people):
    with travel(2026, 11, 2):
        app = intake(people["clerk"], "lv_residential", date(2026, 11, 2))
        w = Walk(office_page, app)
        w.open_as(people["alice"])
        page = w.page
        assert page.locator("h1").inner_text().strip() == f"申请 {app.number}"
        assert page.locator("#pii-id_number").inner_text().startswith("1101**********002X")
        assert page.locator("#pii-phone").inner_text().startswith("138****8000")
        assert w.badges("survey") == "剩余 2 个工作日"
        assert w.explanation("survey") == [
            "2026-11-02 开始（当天不计），时限 2 个工作日",
            "11-03 第1天",
            "11-04 第2天",
            "→ 期限 2026-11-04",
        ]
        assert page.locator("#missing-list").inner_text() == "房屋或土地产权证明（或租赁协议）"
        # unmasking the phone (htmx) shows it in place and logs it
        page.click("#reveal-phone")
        page.wait_for_selector("#pii-phone .pii-value")
        assert page.locator("#pii-phone").inner_text().strip() == "13800138000"
        assert Event.objects.filter(application=app, type="pii_viewed", actor=people["alice"]).count() == 1
        office_page.screenshot("case-lv-survey")

    with travel(2026, 11, 3):
        w.open_as(people["alice"])
        w.complete()
        assert w.stage("survey").locator(".stage-status").inner_text() == "已完成"
        assert w.badges("connection") == "剩余 2 个工作日"

    with travel(2026, 11, 9):  # the connection was due on Thu 11-05: Fri 6 and Mon 9 are lost
        w.open_as(people["engineer"])
        assert w.badges("connection") == "超期 2 个工作日"
        assert "late" in (w.stage("connection", 1).get_attribute("class") or "")
        office_page.screenshot("case-lv-overdue")
        w.complete()
        assert w.status() == "已完成"
        assert w.stage("connection").locator(".badge-overdue").inner_text() == "超时"
        assert page.locator("#actions").count() == 0
        office_page.screenshot("case-lv-completed")

    with travel(2026, 11, 10):
        w.open_as(people["auditor"])
        assert page.locator("#actions").count() == 0
        assert page.locator("#reveal-id_number").count() == 1  # the auditor may unmask
    assert app.number and Application.objects.get(pk=app.pk).status == "completed"


@pytest.mark.django_db(transaction=True)
def test_high_voltage_case_with_a_failed_design_review(office_page, people):
    alice, eng = people["alice"], people["engineer"]
    with travel(2026, 9, 29):
        app = intake(people["clerk"], "hv_single", date(2026, 9, 29))
        w = Walk(office_page, app)
        w.open_as(alice)
        page = w.page
        # 15 working days from 09-29 over National Day: 10-26
        assert w.stage("scheme").locator(".stage-deadline").inner_text() == "2026-10-26"
        assert w.badges("scheme") == "剩余 15 个工作日"

    with travel(2026, 9, 30):
        w.open_as(alice)
        w.complete()  # the supply scheme
        w.complete()  # the customer's design is handed in: the review starts today
        assert w.stage("design_review").locator(".stage-deadline").inner_text() == "2026-10-20"
        assert w.explanation("design_review") == [
            "2026-09-30 开始（当天不计），时限 10 个工作日",
            "10-01…10-07 国庆节放假不计",
            "10-08 第1天",
            "10-09 第2天",
            "10-10 周六国庆节调休上班，第3天",
            "10-11 周日不计",
            "10-12 第4天",
            "10-13 第5天",
            "10-14 第6天",
            "10-15 第7天",
            "10-16 第8天",
            "10-17…10-18 周末不计",
            "10-19 第9天",
            "10-20 第10天",
            "→ 期限 2026-10-20",
        ]
        office_page.screenshot("case-hv-review-explained")

    with travel(2026, 10, 9):
        w.open_as(eng)
        assert w.badges("design_review") == "剩余 8 个工作日"
        assert page.locator("#pause-form").count() == 0  # not the engineer's action
        # a failed outcome without defects is refused in place
        form = page.locator("#complete-form")
        form.locator("select[name=complete-outcome]").select_option("failed")
        with page.expect_navigation():
            form.locator("#complete-submit").click()
        assert "须一次性列明发现的全部缺陷" in form.locator(".errorlist").inner_text()
        w.complete("failed", "接地设计缺失\n变压器容量与申请不符")
        assert w.stage("design_review").locator(".stage-outcome").inner_text() == "不通过"
        assert w.stage("design_review").locator(".defects li").all_inner_texts() == [
            "接地设计缺失",
            "变压器容量与申请不符",
        ]
        assert w.stage("customer_design", 2).locator(".stage-status").inner_text() == "办理中"
        office_page.screenshot("case-hv-review-failed")

    with travel(2026, 10, 12):
        w.open_as(alice)
        w.complete()  # the corrected design: round 2 of the review, fresh clock
        assert w.stage("design_review", 2).locator(".stage-deadline").inner_text() == "2026-10-26"

    with travel(2026, 10, 13):
        w.open_as(eng)
        assert w.badges("design_review", 2) == "剩余 9 个工作日"
        w.complete("passed")
        # the mid-construction inspection is not required for this customer
        page.locator("details:has(#skip-form-mid_inspection) summary").click()
        page.fill("#skip-reason-mid_inspection", "非重要客户，供电方案注明无需中间检查")
        with page.expect_navigation():
            page.locator("#skip-form-mid_inspection button[type=submit]").click()
        assert w.messages() == ["环节已标记为不需要。"]
        w.open_as(alice)
        w.complete()  # construction
        w.complete()  # completion report handed in: the completion inspection starts
    with travel(2026, 10, 14):
        w.open_as(eng)
        w.complete("passed")
        w.open_as(alice)
        w.complete()  # contract and fees
        assert w.stage("connection").locator(".stage-deadline").inner_text() == "2026-10-21"
    with travel(2026, 10, 16):
        w.open_as(alice)
        w.complete()
        assert w.status() == "已完成"
        office_page.screenshot("case-hv-completed")
        w.open_as(people["auditor"])
        assert page.locator("#actions").count() == 0
        log = page.locator(".event-log").inner_text()
        assert "王工" in log and "李爱" in log
    stages = list(StageInstance.objects.filter(application=app).order_by("seq").values_list("code", "round", "status"))
    assert stages == [
        ("acceptance", 1, "completed"),
        ("scheme", 1, "completed"),
        ("customer_design", 1, "completed"),
        ("design_review", 1, "completed"),
        ("customer_design", 2, "completed"),
        ("design_review", 2, "completed"),
        ("customer_construction", 1, "completed"),
        ("mid_inspection", 1, "skipped"),
        ("customer_completion", 1, "completed"),
        ("completion_inspection", 1, "completed"),
        ("customer_formalities", 1, "completed"),
        ("connection", 1, "completed"),
    ]


@pytest.mark.django_db(transaction=True)
def test_another_manager_gets_the_403_page(office_page, people):
    with travel(2026, 11, 2):
        app = intake(people["clerk"], "lv_residential", date(2026, 11, 2))
        office_page.login(people["bob"])
        r = office_page.page.goto(f"/workbench/applications/{app.number}/")
        assert r is not None and r.status == 403
        assert office_page.page.locator("h1").inner_text() == "无权访问"
        assert re.search("张三", office_page.page.content()) is None
        # the browser reports the 403 document as a failed resource: expected here, nothing else
        assert office_page.errors == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
        office_page.errors.clear()


@pytest.mark.django_db(transaction=True)
def test_the_page_on_a_phone_fits_the_screen(phone_page, people):
    with travel(2026, 9, 30):
        app = intake(people["clerk"], "hv_single", date(2026, 9, 30))
        w = Walk(phone_page, app)
        w.open_as(people["alice"])
        page = w.page
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # the customer card and the actions come before the timeline on a narrow screen
        card = page.locator("#customer-title").bounding_box()
        timeline = page.locator("#timeline-title").bounding_box()
        assert card and timeline and card["y"] < timeline["y"]
        assert w.stage("scheme").locator(".stage-deadline").inner_text() == "2026-10-27"
        phone_page.screenshot("case-phone")
