"""Every staff page and action, found from the URL configuration (so a new page is covered the
day it is added): anonymous callers are sent to sign-in, people without a staff role are
refused, and neither changes anything."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from sunshine.applications.models import Application, Event

SAMPLE = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000000"}


def _routes(patterns, prefix: str = "") -> list[str]:
    out: list[str] = []
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            out += _routes(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            out.append(route)
    return out


def _concrete(route: str) -> str:
    def fill(m: re.Match) -> str:
        kind, name = (m.group(1) or "str"), m.group(2)
        if name in {"number"}:
            return "YK2611020000000"
        if name in {"period"}:
            return "2026-10"
        return SAMPLE.get(kind, "1")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


STAFF_ROUTES = sorted({_concrete(r) for r in _routes(get_resolver().url_patterns) if r.startswith("workbench/")})


def test_the_staff_pages_are_found():
    assert "/workbench/" in STAFF_ROUTES
    assert "/workbench/applications/YK2611020000000/" in STAFF_ROUTES
    assert len(STAFF_ROUTES) > 20


@pytest.mark.django_db
@pytest.mark.parametrize("path", STAFF_ROUTES)
def test_anonymous_callers_are_sent_to_sign_in_and_change_nothing(client, path):
    before = (Application.objects.count(), Event.objects.count())
    for method in (client.get, client.post):
        r = method(path)
        assert r.status_code in (302, 403, 405), (method.__name__, path, r.status_code)
        if r.status_code == 302:
            assert r["Location"].startswith("/accounts/login/"), (path, r["Location"])
    assert (Application.objects.count(), Event.objects.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize("path", STAFF_ROUTES)
def test_a_signed_in_user_without_a_staff_role_is_refused(client, personas, path):
    client.force_login(personas["outsider"])
    before = (Application.objects.count(), Event.objects.count())
    for method in (client.get, client.post):
        r = method(path)
        assert r.status_code in (403, 404, 405) or (
            r.status_code == 302 and r["Location"].startswith("/accounts/login/")
        ), (method.__name__, path, r.status_code)
    assert (Application.objects.count(), Event.objects.count()) == before
