"""The staff inbox: unread count in the navigation (one query), mark read, nobody else's messages."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sunshine.notifications.models import Message
from sunshine.notifications.services import notify_staff

pytestmark = pytest.mark.django_db


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


def say(users, text: str, key: str, when: str = "2026-11-05") -> None:
    with at(when):
        notify_staff(users, "message", {"text": text}, key=key)


def test_the_navigation_shows_the_unread_count(personas, client):
    alice, bob = personas["alice"], personas["bob"]
    say([alice], "请核对申请YK1的资料", "k1")
    say([alice, bob], "明天上午开会", "k2")
    client.force_login(alice)
    html = client.get("/workbench/inbox/").content.decode()
    assert '<span class="count">2</span>' in html
    assert "2 条未读消息" in html
    assert html.index("明天上午开会") < html.index("请核对申请YK1的资料")  # newest first


def test_the_unread_count_costs_one_query_and_pages_do_not_grow_with_messages(personas, client):
    alice = personas["alice"]
    client.force_login(alice)
    say([alice], "一", "k0")
    with CaptureQueriesContext(connection) as few:
        client.get("/workbench/inbox/")
    for i in range(1, 40):
        say([alice], f"第{i}条", f"k{i}")
    with CaptureQueriesContext(connection) as many:
        r = client.get("/workbench/inbox/")
    assert len(many) == len(few)
    # the inbox page's exact count (its summary and the badge), one statement of its own; the
    # signed-in user's statement also counts to 100 for the kept pages' badge (desk/middleware.py)
    counts = [q["sql"] for q in many if q["sql"].upper().startswith("SELECT COUNT(")]
    assert len(counts) == 1
    assert len([q for q in many if "COUNT(" in q["sql"].upper()]) == 2
    assert '<span class="count">40</span>' in r.content.decode()
    assert r.content.decode().count('class="unread"') == 30  # one page


def test_mark_one_and_mark_all_read(personas, client):
    alice = personas["alice"]
    say([alice], "甲", "a")
    say([alice], "乙", "b")
    say([alice], "丙", "c")
    first = Message.objects.get(key="a")
    client.force_login(alice)
    with at("2026-11-05", "11:00"):
        r = client.post(f"/workbench/inbox/{first.pk}/read/")
    assert r.status_code == 302 and r["Location"] == "/workbench/inbox/"
    first.refresh_from_db()
    assert first.read_at.isoformat() == "2026-11-05T03:00:00+00:00"
    html = client.get("/workbench/inbox/?unread=1").content.decode()
    assert '<span class="count">2</span>' in html and "甲" not in html
    r = client.post("/workbench/inbox/read-all/", {"unread": "1"}, follow=True)
    assert r.redirect_chain == [("/workbench/inbox/?unread=1", 302)]
    assert 'class="count"' not in r.content.decode()
    assert "已将 2 条消息标为已读" in r.content.decode()
    assert Message.objects.filter(user=alice, read_at__isnull=True).count() == 0


def test_nobody_marks_another_persons_message(personas, client):
    say([personas["bob"]], "给包博的", "b1")
    message = Message.objects.get(key="b1")
    client.force_login(personas["alice"])
    client.post(f"/workbench/inbox/{message.pk}/read/")
    client.post("/workbench/inbox/read-all/")
    message.refresh_from_db()
    assert message.read_at is None
    assert "给包博的" not in client.get("/workbench/inbox/").content.decode()


def test_reading_needs_post_and_a_signed_in_staff_member(personas, client):
    say([personas["alice"]], "x", "x")
    message = Message.objects.get(key="x")
    assert client.get("/workbench/inbox/")["Location"].startswith("/accounts/login/")
    client.force_login(personas["alice"])
    assert client.get(f"/workbench/inbox/{message.pk}/read/").status_code == 405
    client.force_login(personas["outsider"])
    assert client.post(f"/workbench/inbox/{message.pk}/read/").status_code == 403
    message.refresh_from_db()
    assert message.read_at is None


# --- the same inbox through the API ------------------------------------------------------------


def test_the_inbox_api_lists_and_marks_read(personas, api_as):
    alice, bob = personas["alice"], personas["bob"]
    say([alice], "甲", "a", when="2026-11-05")
    say([alice, bob], "乙", "b", when="2026-11-06")
    api = api_as("alice")
    r = api.get("/api/v1/inbox")
    assert r.status_code == 200
    body = r.json()
    assert (body["unread"], body["page"], body["page_size"]) == (2, 1, 30)
    assert [(m["title"], m["body"], m["application"], m["read_at"]) for m in body["results"]] == [
        ("通知", "乙", None, None),
        ("通知", "甲", None, None),
    ]
    first = body["results"][1]["id"]
    bobs = Message.objects.get(key="b", user=bob).pk
    with at("2026-11-07"):
        r = api.post("/api/v1/inbox/read", {"ids": [first, bobs]})
    assert r.json() == {"marked": 1, "unread": 1}
    assert Message.objects.get(pk=bobs).read_at is None
    assert [m["body"] for m in api.get("/api/v1/inbox", unread="true").json()["results"]] == ["乙"]
    assert api.post("/api/v1/inbox/read").json() == {"marked": 1, "unread": 0}


def test_the_inbox_api_refuses_bad_input_and_strangers(personas, api_as):
    assert api_as(None).get("/api/v1/inbox").status_code == 401
    r = api_as("alice").get("/api/v1/inbox", page_size=1000)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = api_as("alice").post("/api/v1/inbox/read", {"ids": ["x"]})
    assert r.status_code == 422


def test_ids_beyond_a_database_key_are_invalid_input_not_a_server_error(personas, api_as):
    """Found by the fuzz test: an id past 2^63 made the database driver fail (500)."""
    r = api_as("alice").post("/api/v1/inbox/read", {"ids": [-1682, 1762, -887937582410226466816]})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_error"
    assert set(body["fields"]) == {"ids.0", "ids.2"}
