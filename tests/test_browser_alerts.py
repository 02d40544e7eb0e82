"""The inbox and the job page in a real browser: unread count, mark read by keyboard, retry."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from sunshine.notifications.models import Message
from sunshine.notifications.services import notify_staff

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_inbox_shows_unread_messages_and_marks_them_read(office_page, personas):
    alice = personas["alice"]
    notify_staff([alice], "message", {"text": "请于今天下班前核对申请资料"}, key="b1")
    notify_staff(
        [alice],
        "overdue",
        {"number": "YK2611020000018", "stage_name": "现场勘查", "days": 2, "deadline": "11月4日"},
        key="b2",
    )
    office_page.login(alice)
    page = office_page.page
    page.goto("/workbench/inbox/")
    assert page.locator(".side-nav .count").inner_text() == "2"
    assert page.locator("#unread-summary").inner_text() == "2 条未读消息"
    assert page.locator(".inbox li.unread .msg-title").all_text_contents() == ["未读： 已超期", "未读： 通知"]
    office_page.screenshot("inbox-unread")
    # Keyboard only: focus the first "mark as read" button and press Enter.
    page.locator(".inbox li").first.get_by_role("button", name="标为已读").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".side-nav .count").inner_text() == "1"
    assert page.locator(".inbox li.unread").count() == 1
    with page.expect_navigation():
        page.get_by_role("button", name="全部标为已读").click()
    assert page.locator(".side-nav .count").count() == 0
    assert page.locator(".messages").inner_text() == "已将 1 条消息标为已读。"
    assert Message.objects.filter(user=alice, channel="inbox", read_at__isnull=True).count() == 0
    office_page.screenshot("inbox-read")


@pytest.mark.django_db(transaction=True)
def test_an_administrator_sees_a_failed_job_and_retries_it(office_page, personas):
    from tests.test_jobs import _fail_some

    _fail_some(1)
    office_page.login(personas["admin"])
    page = office_page.page
    page.goto("/workbench/jobs/")
    assert page.locator("#count-failed").inner_text() == "1"
    failures = page.locator("#h-failed + p + .table-wrap")
    assert failures.locator(".job-label").inner_text() == "flaky"  # a test task: no description, its name
    assert failures.locator(".job-reason").inner_text() == "已失败 4 次，不再自动重试。"
    failures.get_by_text("技术细节").click()
    assert "gateway down (job-0, attempt 4)" in failures.inner_text()
    office_page.screenshot("jobs-failed")
    with page.expect_navigation():
        page.get_by_role("button", name="重试").click()
    assert "任务已重新入队" in page.locator(".messages").inner_text()
    assert page.locator("#count-ready").inner_text() == "1"
    assert DBTaskResult.objects.filter(status="READY").count() == 1
