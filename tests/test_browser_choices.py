"""In a real browser: the customer records the units they chose on a phone (390×844) after the
progress look-up, answering "工作人员推荐的" for the builder; staff record a supplier on the case
page (its card loaded by htmx) the same way; the auditor finds the steering cases both answers
opened; the concentration monitor counts the choices for the manager holding the case."""

from __future__ import annotations

import re
from datetime import date

import pytest
import time_machine

from sunshine.applications import services
from sunshine.applications.validation import validate_intake
from sunshine.directory.models import ContractorChoice
from sunshine.feedback.models import SupervisionCase
from tests.conftest import intake_body
from tests.test_browser_desk import check_a11y
from tests.test_portal_choices import unit

pytestmark = pytest.mark.browser
NOW = "2026-11-26 10:00 +0800"  # Thu; no holidays until the end of the year


@pytest.fixture
def world(transactional_db, personas):
    units = {
        "design": unit("汾河设计院", "design"),
        "construction": unit("晋阳电力工程公司", "construction"),
        "supply": unit("三晋电气设备公司", "supply"),
        "other_supply": unit("北方电力物资公司", "supply"),
    }
    with time_machine.travel(NOW, tick=False):
        app = services.intake(validate_intake(intake_body(), date(2026, 11, 26)), personas["clerk"]).application
    assert app.customer_manager == personas["alice"]
    return {"app": app, "units": units, **personas}


@pytest.mark.django_db(transaction=True)
def test_the_customer_records_choices_on_a_phone_and_staff_on_the_case_page(phone_page, office_page, world):
    app = world["app"]
    page = phone_page.page
    with time_machine.travel(NOW, tick=True):
        # the customer: the progress look-up proves who they are
        page.goto("/progress/")
        page.get_by_label("申请编号").fill(app.number)
        page.get_by_label("申请时所留手机号码的后 4 位").fill("8000")
        page.get_by_role("button", name="查询").click()
        page.get_by_role("button", name="登记我选择的单位").click()
        page.wait_for_url("**/progress/choices/")
        assert page.locator("h1").inner_text() == "我选择的设计、施工、供货单位"
        page.select_option("#id_design", label="汾河设计院")
        page.locator("#choice-design").get_by_label("我自己选择的").check()
        page.select_option("#id_construction", label="晋阳电力工程公司")
        page.locator("#choice-construction").get_by_label("工作人员推荐的").check()
        check_a11y(page)
        phone_page.screenshot("choices-phone-form")
        # nothing sticks out of a phone's width
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.get_by_role("button", name="提交登记").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "您的选择已登记"
        recorded = page.locator("#choices-recorded").inner_text()
        assert "设计单位：汾河设计院 · 我自己选择的" in recorded
        assert "施工单位：晋阳电力工程公司 · 工作人员推荐的" in recorded
        tracking = page.locator(".case-opened .tracking-number").inner_text()
        assert re.fullmatch(r"JC20261126\d{6}", tracking)
        assert "稽查人员将在 2026-12-10 前答复。" in page.locator(".case-opened").inner_text()
        phone_page.screenshot("choices-phone-recorded")

    # staff: the clerk records the supplier on the case page; the customer says staff suggested it
    office_page.login(world["clerk"])
    office = office_page.page
    with time_machine.travel(NOW, tick=True):
        office.goto(f"/workbench/applications/{app.number}/")
        card = office.locator("#choices")
        card.locator("#choice-form").wait_for()  # loaded by htmx from its own view
        assert (
            card.locator("#choice-current-construction")
            .inner_text()
            .startswith("晋阳电力工程公司 · 客户反映系工作人员推荐")
        )
        office.select_option("#id_choice_supply", label="北方电力物资公司")
        card.locator("#choice-supply").get_by_label("客户反映系工作人员推荐").check()
        office_page.screenshot("choices-case-page-form")
        with office.expect_navigation():
            card.get_by_role("button", name="登记").click()
        messages = office.locator(".messages li").all_inner_texts()
        assert len(messages) == 2, messages  # the prefilled portal choices did not change: no message of theirs
        assert messages[0] == "已登记客户选择的单位。"
        assert re.fullmatch(r"客户反映设备材料供应单位系工作人员推荐，已立稽查案件 JC20261126\d{6}。", messages[1])
        log = office.locator("table.event-log tr[data-type=contractor_chosen]").all_inner_texts()
        assert len(log) == 3 and all("客户选择单位" in line for line in log)
        assert "设备材料供应单位：北方电力物资公司 · 客户反映系工作人员推荐" in log[2]
        office.locator("#choice-current-supply").wait_for()
        assert office.locator("#choice-current-supply").inner_text().startswith("北方电力物资公司")
        check_a11y(office)
        office_page.screenshot("choices-case-page-recorded")
    assert sorted(ContractorChoice.objects.values_list("kind", "channel", "suggested_by_staff")) == [
        ("construction", "portal", True),
        ("design", "portal", False),
        ("supply", "staff", True),
    ]

    # the auditor: both steering cases, about alice and this application
    office_page.login(world["auditor"])
    with time_machine.travel(NOW, tick=True):
        office.goto("/workbench/cases/")
        rows = office.locator("table tbody tr", has_text=app.number)
        assert rows.count() == 2
        assert SupervisionCase.objects.filter(source="choice", kind="steering", manager=world["alice"]).count() == 2
        office.get_by_role("link", name=tracking).click()
        office.wait_for_url(f"**/workbench/cases/{tracking}/")
        body = office.locator("main").inner_text()
        assert f"{app.number} 选择单位：客户反映施工单位系工作人员推荐" in body
        assert "所选施工单位：晋阳电力工程公司" in body
        office_page.screenshot("choices-steering-case")

        # the concentration monitor of November counts the three choices for alice
        office.goto("/workbench/concentration/?period=2026-11")
        table = office.locator("table tbody tr")
        cells = [[c.strip() for c in table.nth(i).locator("td").all_inner_texts()][:6] for i in range(table.count())]
        assert sorted(cells) == sorted(
            [
                ["施工单位", "李爱", "晋阳电力工程公司", "1 / 1", "100%", "100%"],
                ["设计单位", "李爱", "汾河设计院", "1 / 1", "100%", "100%"],
                ["设备材料供应单位", "李爱", "北方电力物资公司", "1 / 1", "100%", "100%"],
            ]
        )
        office_page.screenshot("choices-concentration")
