"""A notice is shown once: the same message waiting twice (added on a POST and again on the page
it redirects to, or twice in one request) is one line on the page."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.contrib import messages
from django.contrib.messages import get_messages
from django.contrib.messages.storage import default_storage
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory

from sunshine.calendar.models import CalendarDay

WARNING_2027 = "2027年节假日安排尚未按国务院通知确认，相关期限为临时计算"


def shown(html: str) -> list[str]:
    """The texts of the admin's message list, in order."""
    items = re.findall(r'<ul class="messagelist">(.*?)</ul>', html, flags=re.S)
    texts = re.findall(r"<li[^>]*>(.*?)</li>", "".join(items), flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", t).split()) for t in texts]


@pytest.mark.django_db
def test_deleting_a_calendar_day_shows_each_notice_once(personas):
    c = Client()
    c.force_login(personas["admin"])
    day = CalendarDay.objects.get(date="2026-10-01")
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        r = c.post(
            "/admin/workcalendar/calendarday/",
            {"action": "delete_selected", "_selected_action": [day.pk], "post": "yes"},
            follow=True,
        )
    assert r.status_code == 200
    assert shown(r.content.decode()) == [
        "已重新计算期限：0个未完成环节的期限有变化。",
        "成功删除了 1 个 日历日期",
        WARNING_2027,
    ]


@pytest.mark.django_db
def test_the_same_message_added_twice_is_stored_once():
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request._messages = default_storage(request)  # what MessageMiddleware does: the configured storage
    messages.success(request, "已保存。")
    messages.success(request, "已保存。")
    messages.warning(request, "已保存。")  # another level: another message
    messages.success(request, "已提交。")
    assert [(m.level_tag, m.message) for m in get_messages(request)] == [
        ("success", "已保存。"),
        ("warning", "已保存。"),
        ("success", "已提交。"),
    ]
