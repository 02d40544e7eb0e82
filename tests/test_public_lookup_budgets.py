"""The public progress look-up against guessing (docs/security.md): a budget per application
number as well as per client, IPv6 clients counted per /64, and the phone ending sent in a POST
body (API and page) so that it never lands in a URL or an access log."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client, override_settings

from sunshine.accounts.services import client_network
from sunshine.notifications.models import Message
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

PUBLIC = "/api/v1/public/applications"
UNKNOWN = "YK2611260000000"
LOCKED_EN = (
    "Too many wrong phone endings were tried for this application number, so it is locked for a while. "
    "Try again later, or call 0351-12398."
)


@pytest.fixture
def number(api_as) -> str:
    with time_machine.travel("2026-11-26 10:00 +0800", tick=False):
        r = api_as("clerk").post("/api/v1/applications", intake_body())
        assert r.status_code == 201, r.content
        return str(r.json()["number"])


def _post(client: Client, number: str, tail: str):
    return client.post(f"{PUBLIC}/{number}/progress", {"phone_tail": tail}, content_type="application/json")


def test_client_network_counts_ipv6_per_64():
    assert client_network("203.0.113.7") == "203.0.113.7"
    assert client_network("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert client_network("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_network("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert client_network("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_network("unknown") == "unknown"


@time_machine.travel("2026-11-30 10:00 +0800", tick=False)
def test_post_look_up_answers_like_the_get(number):
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    posted = _post(c, number, "8000")
    assert posted.status_code == 200, posted.content
    assert posted.json() == c.get(f"{PUBLIC}/{number}", {"phone_tail": "8000"}).json()
    assert posted.json()["number"] == number
    wrong, unknown = _post(c, number, "0000"), _post(c, UNKNOWN, "8000")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.content == unknown.content
    assert wrong.json() == {
        "code": "application_not_found",
        "message": "No application matches this number and phone number ending.",
    }


@pytest.mark.parametrize("tail", ["800", "80000", "abcd", ""])
def test_post_look_up_with_a_malformed_ending_is_422(number, tail):
    r = _post(Client(HTTP_ACCEPT_LANGUAGE="en"), number, tail)
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "validation_error"
    assert list(r.json()["fields"]) == ["phone_tail"]


@override_settings(SUNSHINE_PUBLIC_LOOKUPS=3)
def test_ipv6_clients_share_a_budget_per_64(number):
    codes = [_post(Client(REMOTE_ADDR=f"2001:db8:1:2::{i}"), number, "8000").status_code for i in range(1, 5)]
    assert codes == [200, 200, 200, 429]
    # the next /64 is another client
    assert _post(Client(REMOTE_ADDR="2001:db8:1:3::1"), number, "8000").status_code == 200


@override_settings(
    SUNSHINE_PUBLIC_LOOKUP_MISSES_PER_NUMBER=3,
    SUNSHINE_PUBLIC_LOOKUP_LOCK_SECONDS=1800,
    SUNSHINE_PUBLIC_LOOKUP_NUMBER_WINDOW_SECONDS=3600,
)
def test_wrong_endings_from_many_clients_lock_the_number_and_tell_its_manager(number, personas):
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False) as clock:
        # three wrong endings, each from another client: every client is well within its budget
        misses = [
            _post(Client(REMOTE_ADDR=f"198.51.100.{i}"), number, tail).status_code
            for i, tail in enumerate(["1111", "2222", "3333"])
        ]
        assert misses == [404, 404, 404]
        # now even the right ending, from a fresh client, is refused
        r = _post(Client(REMOTE_ADDR="192.0.2.50", HTTP_ACCEPT_LANGUAGE="en"), number, "8000")
        assert r.status_code == 429, r.content
        assert r.json() == {"code": "throttled", "message": LOCKED_EN}
        assert r["Retry-After"] == "1800"
        got = Client(REMOTE_ADDR="192.0.2.51").get(f"{PUBLIC}/{number}", {"phone_tail": "8000"})
        assert got.status_code == 429
        # the case's customer manager is told once, in the inbox
        told = list(
            Message.objects.filter(template="lookup_locked").values_list("user__username", "channel", "title", "body")
        )
        assert told == [
            (
                "alice",
                "inbox",
                "进度查询已锁定",
                f"申请{number}的进度查询连续3次输入了错误的手机尾号，已锁定30分钟。"
                "如客户本人无法查询，请主动联系客户；如非客户所为，请留意是否有人试图获取该申请的信息。",
            )
        ]
        # after the lock time the customer gets through again
        clock.shift(1801)
        assert _post(Client(REMOTE_ADDR="192.0.2.52"), number, "8000").status_code == 200


@override_settings(SUNSHINE_PUBLIC_LOOKUP_MISSES_PER_NUMBER=2)
def test_an_unknown_number_locks_the_same_way_so_the_lock_reveals_nothing(number, personas):
    for i in range(2):
        assert _post(Client(REMOTE_ADDR=f"198.51.100.{i}"), UNKNOWN, "1234").status_code == 404
    r = _post(Client(REMOTE_ADDR="192.0.2.60", HTTP_ACCEPT_LANGUAGE="en"), UNKNOWN, "1234")
    assert r.status_code == 429 and r.json()["message"] == LOCKED_EN
    assert not Message.objects.filter(template="lookup_locked").exists()
    # other numbers are not affected
    assert _post(Client(REMOTE_ADDR="192.0.2.61"), number, "8000").status_code == 200


@time_machine.travel("2026-11-30 10:00 +0800", tick=False)
def test_the_progress_page_posts_the_ending(number):
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    form = c.get("/progress/").content.decode()
    assert '<form method="post" action="/progress/" class="stacked portal-form">' in form
    shown = c.post("/progress/", {"number": number, "phone_tail": "8000"})
    assert shown.status_code == 200
    assert f"<strong>{number}</strong>" in shown.content.decode()
    missed = c.post("/progress/", {"number": number, "phone_tail": "0000"})
    assert missed.status_code == 404
    assert "No application matches this number and phone number ending." in missed.content.decode()
    # a bookmark of the GET form still works (API v1 names /progress/?number=…&phone_tail=…)
    assert c.get("/progress/", {"number": number, "phone_tail": "8000"}).status_code == 200
