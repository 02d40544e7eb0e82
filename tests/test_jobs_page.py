"""The job status page reads in plain Chinese: what each job does, schedules as "每天 02:00", why a
job or a report failed; no crontab strings and no raw job ids."""

from __future__ import annotations

import importlib
import re
from datetime import date

import pytest
from django.apps import apps
from django.test import override_settings
from django_tasks.base import Task

from sunshine.jobs.schedule import discover
from sunshine.reports import services as report_services
from sunshine.reports.models import ReportStatus
from sunshine.workbench.alerts import describe
from tests.test_pdffont import unregistered  # noqa: F401 (fixture)


def _project_tasks() -> set[str]:
    found = set()
    for config in apps.get_app_configs():
        if not config.name.startswith("sunshine."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.tasks")
        except ModuleNotFoundError:
            continue
        found |= {f"{config.name}.tasks.{n}" for n, v in vars(module).items() if isinstance(v, Task)}
    return found


def test_every_task_of_the_project_says_what_it_does():
    assert set(describe.TASKS) == _project_tasks()


def test_every_schedule_reads_in_words():
    assert {p.cron: describe.schedule_text(p.cron) for p in discover()} == {
        "* * * * *": "每分钟",
        "*/5 * * * *": "每 5 分钟",
        "*/10 * * * *": "每 10 分钟",
        "5 0 * * *": "每天 00:05",
        "20 0 * * *": "每天 00:20",
        "0 8 * * 1": "每周一 08:00",
        "15 8 * * 1-5": "每周一至周五 08:15",
        "10 0 1,16 * *": "每月 1、16 日 00:10",
        "30 1 1 * *": "每月 1 日 01:30",
        "30 2 1 * *": "每月 1 日 02:30",
        "10 3 2 * *": "每月 2 日 03:10",
    }
    assert describe.schedule_text("0 9 1 6 *") == "0 9 1 6 *"  # no rule for it: the crontab as it is


@pytest.mark.django_db
def test_the_page_names_jobs_and_schedules_in_words_without_crontabs_or_ids(personas, client):
    client.force_login(personas["admin"])
    html = client.get("/workbench/jobs/").content.decode()
    assert "<td>期限巡检：提醒即将到期和已超期的环节</td><td>每分钟</td>" in html
    assert "<td>生成刚结束的半月的半月报</td><td>每月 1、16 日 00:10</td>" in html
    text = re.sub(r"<[^>]+>", " ", html)
    assert not re.search(r"\* \* \*|\*/10|1,16 \* \*", text)
    assert "sunshine." not in text


@pytest.mark.django_db
def test_a_report_that_failed_is_listed_with_its_reason_in_chinese_until_regenerated(
    personas,
    client,
    settings,
    tmp_path,
    unregistered,  # noqa: F811
):
    settings.MEDIA_ROOT = tmp_path / "media"
    with override_settings(SUNSHINE_PDF_FONT=str(tmp_path / "gone.ttf")):
        failed, _created = report_services.generate_half_month(date(2026, 11, 1))
    assert failed.status == ReportStatus.FAILED
    hint = "fix SUNSHINE_PDF_FONT or unset it to use the project's font"
    assert failed.error == f"FontMissing: PDF font {tmp_path / 'gone.ttf'} not found: {hint}"
    client.force_login(personas["admin"])
    html = client.get("/workbench/jobs/").content.decode()
    row = re.search(rf'<tr id="failed-report-{failed.pk}">(.*?)</tr>', html, re.S)
    assert row, html
    assert "2026年11月上半月业扩报装工作半月报（11-01至11-15）" in row[1] and "第 1 版" in row[1]
    assert "缺少 PDF 字体：请管理员运行 make install（或更正 SUNSHINE_PDF_FONT 设置），然后重新生成报表。" in row[1]

    client.force_login(personas["leader"])
    listing = client.get("/workbench/reports/").content.decode()
    assert '<span class="status-failed">失败</span>' in listing and "不通过" not in listing
    page = client.get(f"/workbench/reports/{failed.pk}/").content.decode()
    assert "<h1>2026年11月上半月业扩报装工作半月报（11-01至11-15）</h1>" in page
    assert f'action="/workbench/reports/{failed.pk}/regenerate/"' in page

    r = client.post(f"/workbench/reports/{failed.pk}/regenerate/", {"reason": "字体已安装"})
    new = failed.__class__.objects.get(period_start=date(2026, 11, 1), version=2)
    assert r["Location"] == f"/workbench/reports/{new.pk}/"
    assert (new.status, new.reason) == (ReportStatus.DONE, "字体已安装")
    client.force_login(personas["admin"])
    assert f'id="failed-report-{failed.pk}"' not in client.get("/workbench/jobs/").content.decode()


@pytest.mark.django_db
def test_a_message_that_could_not_be_delivered_is_named_by_its_template_in_chinese(personas, client):
    from django.utils import timezone

    from sunshine.notifications.models import Message, MessageStatus

    failed = Message.objects.create(
        key="accepted:YK1",
        channel="sms",
        recipient="phone:abc",
        address="13800001234",
        template="accepted",
        title="申请已受理",
        body="【阳光业扩】……",
        status=MessageStatus.FAILED,
        attempts=5,
        last_error="短信网关拒绝",
        created_at=timezone.now(),
    )
    client.force_login(personas["admin"])
    html = client.get("/workbench/jobs/").content.decode()
    row = re.search(rf'<tr id="message-{failed.pk}">(.*?)</tr>', html, re.S)
    assert row is not None
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]
    assert cells[1:4] == ["申请已受理", "短信", "138****1234"]
    assert ">accepted<" not in row.group(1) and " accepted " not in row.group(1)
