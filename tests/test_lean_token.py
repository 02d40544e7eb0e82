"""The staff API called with a bearer token runs the lean middleware stack (sunshine/ops/lean.py,
``SUNSHINE_LEAN_TOKEN_PATHS``): the same answers, headers and rows as through the whole stack;
a session's caller, a bad or non-staff token and the token endpoint still run the whole stack."""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine
from django.test import Client, override_settings

from sunshine.accounts.models import Role
from sunshine.applications.models import Application, Event
from sunshine.ops import lean
from tests.conftest import intake_body, make_user

pytestmark = pytest.mark.django_db

WHOLE = {"SUNSHINE_LEAN_TOKEN_PATHS": []}


def token(client: Client, username: str) -> str:
    r = client.post(
        "/api/v1/auth/token",
        json.dumps({"username": username, "password": "pw-" + username}),
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    return str(r.json()["token"])


def headers(r: Any) -> dict[str, str]:
    return {k: v for k, v in r.headers.items() if k not in ("X-Request-ID", "Content-Length")}


def calls(monkeypatch) -> list[str]:
    """Which stack each request ran: 'lean' or 'whole'."""
    seen: list[str] = []
    real = lean.LeanPathsMiddleware.__call__

    def spy(self, request):  # type: ignore[no-untyped-def]
        response = real(self, request)
        seen.append("lean" if getattr(request, "session", None) is None else "whole")
        return response

    monkeypatch.setattr(lean.LeanPathsMiddleware, "__call__", spy)
    return seen


def test_a_token_call_is_answered_alike_by_both_stacks(personas, monkeypatch):
    seen = calls(monkeypatch)
    answers = {}
    for name, extra in (("lean", {}), ("whole", WHOLE)):
        with override_settings(**extra), time_machine.travel("2026-11-02 10:00 +0800", tick=False):
            c = Client()
            auth = {"HTTP_AUTHORIZATION": "Bearer " + token(c, "clerk")}
            i = len(answers)
            body = intake_body(customer__id_number=["360426199101010071", "11010519491231002X"][i])
            made = c.post("/api/v1/applications", json.dumps(body), content_type="application/json", **auth)
            assert made.status_code == 201, made.content
            number = made.json()["number"]
            got = c.get(f"/api/v1/applications/{number}", **auth)
            bad = c.post(
                "/api/v1/applications", json.dumps({**body, "category": "x"}), content_type="application/json", **auth
            )
            answers[name] = (made, got, bad, number)
    assert seen == ["whole", "lean", "lean", "lean", "whole", "whole", "whole", "whole"]
    lean_, whole = answers["lean"], answers["whole"]
    for a, b in zip(lean_[:3], whole[:3], strict=True):
        assert a.status_code == b.status_code
        assert headers(a) == headers(b)
        assert not a.cookies and not b.cookies

    # The bodies differ only by what differs between the two applications.
    def same(r: Any, number: str) -> Any:
        d = r.json()
        for k in ("number", "customer", "possible_duplicate_of", "customer_manager"):
            d.pop(k, None)
        return json.loads(json.dumps(d).replace(number, "N"))

    assert same(lean_[0], lean_[3]) == same(whole[0], whole[3])
    assert same(lean_[1], lean_[3]) == same(whole[1], whole[3])
    assert lean_[2].json() == whole[2].json()
    # The same rows: the events carry the clerk as their actor.
    for number in (lean_[3], whole[3]):
        app = Application.objects.get(number=number)
        assert set(Event.objects.filter(application=app).values_list("actor__username", flat=True)) == {"clerk"}


def test_a_session_caller_a_bad_token_and_the_token_endpoint_run_the_whole_stack(personas, monkeypatch):
    seen = calls(monkeypatch)
    make_user("nobody", "")  # no staff role
    c = Client()
    c.force_login(personas["alice"])
    assert c.get("/api/v1/applications").status_code == 200  # the session's caller
    assert c.get("/api/v1/applications", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 200  # falls back
    anon = Client()
    assert anon.get("/api/v1/applications", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401
    t = token(anon, "nobody")
    r = anon.get("/api/v1/applications", HTTP_AUTHORIZATION="Bearer " + t)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    ok = token(anon, "clerk")
    r = anon.post(
        "/api/v1/auth/token",
        json.dumps({"username": "clerk", "password": "wrong"}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer " + ok,
    )
    assert r.status_code == 401
    assert anon.get("/api/v1/applications", HTTP_AUTHORIZATION="Bearer " + ok).status_code == 200
    assert seen == ["whole"] * 7 + ["lean"]


def test_a_leader_with_a_token_is_a_staff_caller_of_the_lean_stack(personas, monkeypatch):
    seen = calls(monkeypatch)
    make_user("boss", Role.LEADER)
    c = Client()
    t = token(c, "boss")
    assert c.get("/api/v1/applications", HTTP_AUTHORIZATION="bearer " + t).status_code == 200
    assert seen == ["whole", "lean"]


@override_settings(SUNSHINE_TOKEN_CACHE_SECONDS=0)
def test_the_token_is_looked_up_once_per_request_without_the_cache(personas):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = Client()
    t = token(c, "clerk")
    with CaptureQueriesContext(connection) as ctx:
        assert c.get("/api/v1/applications", HTTP_AUTHORIZATION="Bearer " + t).status_code == 200
    assert sum("api_token" in q["sql"].lower() or "apitoken" in q["sql"].lower() for q in ctx.captured_queries) == 1


def test_a_token_user_kept_before_the_clock_stepped_back_is_read_again(personas):
    """The token cache keeps a user for SUNSHINE_TOKEN_CACHE_SECONDS (docs/security.md: the
    revocation delay). An entry kept at 10:00 is not fresh at 09:00 (a clock stepped back, e.g. by
    NTP): the user deactivated meanwhile is refused at once, not after the clock catches up."""
    from sunshine.accounts import services as accounts
    from sunshine.accounts.models import User

    c = Client()
    with time_machine.travel("2026-11-02 10:00 +0800", tick=False):
        t = token(c, "clerk")
        assert accounts.user_for_token(t) is not None  # kept
        User.objects.filter(username="clerk").update(is_active=False)
        assert accounts.user_for_token(t) is not None  # within the delay: still the kept user
    with time_machine.travel("2026-11-02 09:00 +0800", tick=False):
        assert accounts.user_for_token(t) is None
