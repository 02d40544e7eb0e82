"""The navigation's unread badge counts to 99 and then shows "99+" (design/templatetags/ui.py):
a pile of unread messages costs a kept page at most 100 index entries, and every page shows the
same badge; the inbox page itself says the exact number."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sunshine.design.templatetags.ui import BADGE_MAX, badge
from sunshine.notifications.models import Message
from sunshine.notifications.services import notify_staff
from sunshine.workbench.desk import kept, middleware
from tests.test_workbench_case import at, client_for, new_app, url

pytestmark = pytest.mark.django_db


def test_the_badge_text():
    assert [badge(n) for n in (0, -1, 1, 42, 99, 100, 101, 4562)] == ["", "", "1", "42", "99", "99+", "99+", "99+"]
    # both raw counts stop where the badge stops telling numbers apart
    assert f"LIMIT {BADGE_MAX + 1})" in kept._UNREAD_SQL
    assert f"LIMIT {BADGE_MAX + 1})" in middleware._UNREAD


def _unread(user, n: int) -> None:
    Message.objects.filter(user=user).update(read_at="2026-11-02T10:00:00+08:00")
    notify_staff([user], "message", {"text": "请核对"}, key="first")
    Message.objects.bulk_create(
        [
            Message(
                user=user,
                recipient=user.username,
                channel="inbox",
                template="message",
                title="请核对",
                body="请核对",
                key=f"pile-{i}",
                status="sent",
                created_at=timezone.now(),
            )
            for i in range(n - 1)
        ]
    )
    assert Message.objects.filter(user=user, channel="inbox", read_at__isnull=True).count() == n


@pytest.mark.parametrize(("n", "shown"), [(99, "99"), (100, "99+"), (150, "99+")])
def test_kept_and_fresh_pages_show_the_same_badge_and_the_inbox_the_exact_number(personas, n, shown):
    alice = personas["alice"]
    app = new_app(personas["clerk"])  # alice's
    with at("2026-11-03"):
        _unread(alice, n)
        c = client_for(alice)
        first = c.get(url(app)).content.decode()  # built
        with CaptureQueriesContext(connection) as ctx:
            again = c.get(url(app)).content.decode()  # kept: the count read with the user
        queue = c.get("/workbench/").content.decode()
        inbox = c.get("/workbench/inbox/").content.decode()
    for page in (first, again, queue, inbox):
        assert f'<span class="count">{shown}</span>' in page
    assert not [q for q in ctx.captured_queries if q["sql"].startswith("SELECT COUNT(*) FROM notifications_message")]
    assert f"{n} 条未读消息" in inbox  # the inbox page: the exact number
    assert kept.unread_count(alice.pk) == min(n, BADGE_MAX + 1)
