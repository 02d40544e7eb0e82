"""Issue 19's done-when in a real browser on the demo province: 太原's leader ranks the city's
districts for a half-month, opens 晋源区's page and asks for its full report; the 晋源区 leader
sees only 晋源区's applications in the work queue, the city leader more, the province auditor
all."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from sunshine.accounts.models import User
from sunshine.applications.models import OPEN_STATUSES, Application
from sunshine.reports.models import Report
from sunshine.reports.tasks import build_report
from tests.test_browser_desk import check_a11y

pytestmark = pytest.mark.browser
NOW = "2026-11-27 10:00 +0800"
TAIYUAN_DISTRICTS = {"ty-xiaodian", "ty-yingze", "ty-xinghualing", "ty-jiancaoping", "ty-wanbailin", "ty-jinyuan"}


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", applications=60, stdout=StringIO())
    return {u.username: u for u in User.objects.all()}


@pytest.mark.django_db(transaction=True)
def test_the_city_leader_ranks_the_districts_and_opens_a_districts_report(office_page, demo):
    office_page.login(demo["city_leader"])
    page = office_page.page
    with time_machine.travel(NOW, tick=True):
        page.goto("/workbench/reports/")
        page.locator("#unit-report-link").click()
        page.wait_for_url("**/workbench/reports/units/")
        assert page.locator("h1").inner_text() == "国网太原供电公司"
        assert page.locator("#unit-period").inner_text().startswith("半月：2026-11-01 – 2026-11-15")
        rows = page.locator("table.unit-ranking tbody tr")
        codes = [rows.nth(i).get_attribute("data-unit") for i in range(rows.count())]
        assert set(codes) == TAIYUAN_DISTRICTS
        ranks = [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
        assert ranks == [str(i) for i in range(1, 7)]
        check_a11y(page)
        office_page.screenshot("units-city-ranking")
        page.locator("table.unit-ranking a", has_text="晋源区供电公司").click()
        page.wait_for_url("**/workbench/reports/units/?unit=ty-jinyuan&period=2026-11-01")
        assert page.locator("h1").inner_text() == "晋源区供电公司"
        assert page.locator("#unit-parent").inner_text() == "返回上级：国网太原供电公司"
        accepted = int(page.locator("td[data-key=accepted]").inner_text())
        assert (
            accepted
            == Application.objects.filter(
                unit__code__in=["ty-jinyuan", "ty-jinyuan-jinci"],
                accepted_at__date__gte="2026-11-01",
                accepted_at__date__lte="2026-11-15",
            ).count()
        )
        office_page.screenshot("units-county-page")
        page.get_by_role("button", name="生成完整报表（全部章节、Excel 和 PDF）").click()
        page.wait_for_url("**/workbench/reports/*/")
    report = Report.objects.get(kind="adhoc")
    assert report.filters == {"unit": "ty-jinyuan"}
    build_report.call(report.pk)  # what the worker does
    with time_machine.travel(NOW, tick=True):
        page.reload()
        assert "单位：晋源区供电公司" in page.locator("body").inner_text()
        office_page.screenshot("units-county-report")


@pytest.mark.django_db(transaction=True)
def test_each_level_sees_its_part_of_the_province_in_the_work_queue(office_page, demo):
    open_apps = Application.objects.filter(status__in=OPEN_STATUSES)
    jinyuan = open_apps.filter(unit__code__in=["ty-jinyuan", "ty-jinyuan-jinci"]).count()
    taiyuan = open_apps.filter(unit__path__startswith="/sx/ty/").count()
    everything = open_apps.count()
    assert 0 < jinyuan < taiyuan < everything
    page = office_page.page
    seen = {}
    for username in ("leader", "city_leader", "province_auditor"):
        office_page.login(demo[username])
        with time_machine.travel(NOW, tick=True):
            page.goto("/workbench/team/")
            seen[username] = int(re.search(r"\d+", page.locator("#queue-count").inner_text()).group())
        page.context.clear_cookies()
    assert seen == {"leader": jinyuan, "city_leader": taiyuan, "province_auditor": everything}
