"""A leader reads the half-monthly report in a real browser: charts drawn (canvas), downloads,
and an ad-hoc report that shows its progress, then its results."""

from __future__ import annotations

import re

import pytest

from sunshine.reports.models import Kind, Report
from sunshine.reports.tasks import build_report
from tests.test_pdffont import unregistered  # noqa: F401 (fixture)
from tests.test_reports import build_story, generate

pytestmark = pytest.mark.browser


@pytest.fixture
def story(personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_story()


@pytest.mark.django_db(transaction=True)
def test_a_leader_reads_the_report_with_its_charts_and_downloads_it(office_page, story, personas):
    report = generate()
    office_page.login(personas["leader"])
    page = office_page.page
    page.goto("/workbench/reports/")
    page.get_by_role("link", name="第 1 版").click()
    page.wait_for_url(f"**/workbench/reports/{report.pk}/")
    assert page.locator("h1").inner_text() == "2026年10月上半月业扩报装工作半月报（10-01至10-15）"
    # four charts (by category, durations, on time, pauses), each drawn on a canvas
    page.wait_for_function("document.querySelectorAll('.report-chart canvas').length === 4")
    sizes = page.eval_on_selector_all(".report-chart canvas", "els => els.map(e => [e.width, e.height])")
    assert all(w > 300 and h > 200 for w, h in sizes)
    row = page.locator("table[data-section='volume_category'] tbody tr").last
    assert row.locator("td").all_inner_texts() == ["合计", "6", "1", "1", "6"]
    office_page.screenshot("report-page")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 PDF").click()
    assert download.value.suggested_filename == "half-month-2026-10-01-v1.pdf"
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Excel").click()
    assert download.value.suggested_filename == "half-month-2026-10-01-v1.xlsx"
    # print-friendly: the navigation and the forms are hidden when printing
    page.emulate_media(media="print")
    assert not page.locator(".staff-header").is_visible()
    assert not page.locator(".report-actions").is_visible()
    assert page.locator("#section-overdue table").is_visible()
    page.emulate_media(media="screen")


@pytest.mark.django_db(transaction=True)
def test_an_ad_hoc_report_shows_its_progress_then_its_results(office_page, story, personas):
    office_page.login(personas["leader"])
    page = office_page.page
    page.goto("/workbench/reports/")
    page.get_by_label("开始日期").fill("2026-10-01")
    page.get_by_label("结束日期").fill("2026-10-15")
    page.get_by_label("客户经理").select_option("bob")
    page.get_by_role("button", name="生成").click()
    page.wait_for_url(re.compile(r".*/workbench/reports/\d+/$"))
    report = Report.objects.get(kind=Kind.ADHOC)
    progress = page.locator("#report-progress progress")
    assert progress.is_visible()
    assert page.locator("#report-progress").inner_text().strip().startswith("正在生成报表")
    office_page.screenshot("report-adhoc-progress")
    # the worker picks the job up; the page, polling every second, reloads with the results
    build_report.call(report.pk)
    page.wait_for_selector("table[data-section='volume_category']", timeout=10_000)
    assert page.locator("h1").inner_text() == "业扩报装专项报表（2026-10-01至2026-10-15）"
    rows = page.locator("table[data-section='volume_category'] tbody tr")
    assert rows.first.locator("td").all_inner_texts() == ["低压居民", "2", "1", "0", "2"]
    assert rows.nth(1).locator("td").all_inner_texts() == ["高压单电源", "1", "0", "0", "1"]
    page.wait_for_function("document.querySelectorAll('.report-chart canvas').length >= 1")
    office_page.screenshot("report-adhoc-done")


@pytest.mark.django_db(transaction=True)
def test_a_failed_report_is_on_the_jobs_page_and_a_leader_regenerates_it(
    office_page,
    story,
    personas,
    settings,
    tmp_path,
    unregistered,  # noqa: F811
):
    """The PDF font was missing when the report ran: the administrator sees the failure and its
    reason on the jobs page; once the font is back, the leader regenerates it from its page."""
    from django.test import override_settings

    with override_settings(SUNSHINE_PDF_FONT=str(tmp_path / "gone.ttf")):
        failed = generate()
    assert failed.status == "failed"
    office_page.login(personas["admin"])
    page = office_page.page
    page.goto("/workbench/jobs/")
    row = page.locator(f"#failed-report-{failed.pk}")
    assert row.locator("a").inner_text() == "2026年10月上半月业扩报装工作半月报（10-01至10-15）"
    assert row.locator(".job-reason").inner_text() == (
        "缺少 PDF 字体：请管理员运行 make install（或更正 SUNSHINE_PDF_FONT 设置），然后重新生成报表。"
    )
    office_page.screenshot("jobs-failed-report")

    office_page.login(personas["leader"])
    page.goto("/workbench/reports/")
    assert page.locator(".versions .status-failed").inner_text() == "失败"
    page.get_by_role("link", name="第 1 版").click()
    page.wait_for_url(f"**/workbench/reports/{failed.pk}/")
    assert page.locator("h1").inner_text() == "2026年10月上半月业扩报装工作半月报（10-01至10-15）"
    assert "缺少 PDF 字体" in page.locator(".status-failed").inner_text()
    page.get_by_label("原因").fill("已安装字体，重新生成")
    with page.expect_navigation():
        page.get_by_role("button", name="重新生成").click()
    new = Report.objects.get(kind=Kind.HALF_MONTH, period_start=failed.period_start, version=2)
    assert (new.status, new.reason) == ("done", "已安装字体，重新生成")
    assert page.url.endswith(f"/workbench/reports/{new.pk}/")
    assert "已生成第 2 版。" in page.locator(".messages").inner_text()
    page.wait_for_function("document.querySelectorAll('.report-chart canvas').length === 4")
    office_page.screenshot("report-regenerated")

    office_page.login(personas["admin"])
    page.goto("/workbench/jobs/")
    assert page.locator(f"#failed-report-{failed.pk}").count() == 0
